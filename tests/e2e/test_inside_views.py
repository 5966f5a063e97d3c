"""Issue 11's views in a browser: Run details' epoch slider over a run's snapshots (clickable confusion
matrix, gallery, weight pictures, hidden space, histograms), Try a model traced (layer strips, saliency,
robustness sliders), Compare's two runs side by side, and a run from before snapshots saying why.

Two small real runs (3 epochs on 7,000 images: snapshots at 1, 2 and 3) are trained once for the module,
in this process, straight into the server's store. With SHOTS_DIR set, each view is also saved there as
a screenshot for a person to look at.

Streamlit 1.67 draws a slider as a visually hidden ``input[type=range]`` (react-aria), which takes the
keyboard; a chart gets a ``st-key-...`` class only when it is selectable (``on_select``), so the others
are found by what they show.
"""

import io
import os
import re
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from playwright.sync_api import expect

from mnist_core import snapshots
from mnist_core.config import RunConfig
from tests.e2e.conftest import wait_for_app

SHOTS_DIR = os.environ.get("SHOTS_DIR")
FIRST_LOAD = 120_000  # ms: a page's first run on a loaded 2-core machine imports and draws a lot


def shot(pg, name: str) -> None:
    """The whole page (Streamlit scrolls inside its own container, so the window is made tall for it)."""
    if SHOTS_DIR:
        Path(SHOTS_DIR).mkdir(parents=True, exist_ok=True)
        size = pg.viewport_size
        pg.set_viewport_size({"width": size["width"], "height": 4200})
        pg.wait_for_timeout(1000)
        pg.screenshot(path=str(Path(SHOTS_DIR) / f"{name}.png"))
        pg.set_viewport_size(size)


@pytest.fixture(scope="module")
def runs(server, mnist_path):
    """A 100-unit and a 32-16 run with models and snapshots; the 32-16 one is the newest (Try's first model)."""
    from mnist_core.runner import execute

    trained = {}
    for hidden in ((100,), (32, 16)):
        run = execute(RunConfig(epochs=3, train_examples=7000, hidden=hidden, learning_rate=0.1), server["user"],
                      data_path=str(mnist_path))
        assert run.status == "finished", run.data.get("reason")
        trained[hidden] = run
    return trained


def _chart(pg, showing: str):
    """The Vega-Lite chart whose drawing contains ``showing`` (an axis title, a chart title)."""
    return pg.locator("[data-testid='stVegaLiteChart']").filter(has_text=showing)


def _confusion_on_page(pg) -> np.ndarray:
    """The confusion matrix as the browser draws it, read from the counts written on its cells."""
    labels = pg.locator(".st-key-inside_confusion g.mark-text text").evaluate_all(
        "texts => texts.map(t => t.getAttribute('aria-label'))")
    cm = np.full((10, 10), -1)
    for label in labels:
        m = re.match(r"Predicted: (\d); True digit: (\d); count: ([\d,]+);", label or "")
        if m:
            cm[int(m[2]), int(m[1])] = int(m[3].replace(",", ""))
    return cm


def _eventually(pg, check, timeout: float = 30.0) -> None:
    """``check()`` passes within ``timeout`` seconds: a rerun replaces the page's elements a moment after
    it ends (Streamlit keeps the stale ones on screen until then, and Vega draws after that)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return check()
        except AssertionError:
            if time.monotonic() > deadline:
                raise
            pg.wait_for_timeout(250)


def _slide(pg, key: str, to: str) -> None:
    """Move a slider with its keyboard: "Home" to its first value, "End" to its last."""
    pg.locator(f".st-key-{key} input[type='range']").focus()
    pg.keyboard.press(to)


def test_a_confusion_cell_shows_exactly_its_images_and_the_slider_redraws_everything(page, server, runs, mnist):
    pg, run = page, runs[(100,)]
    at = {e: snapshots.load(run.path, e) for e in (1, 3)}
    pg.goto(f"{server['url']}/details?run={run.run_id}")
    pg.get_by_text("Where it goes wrong at epoch 3").wait_for(timeout=FIRST_LOAD)
    expect(pg.locator(".st-key-inside_confusion g.mark-text text")).not_to_have_count(0, timeout=60_000)
    wait_for_app(pg)
    _eventually(pg, lambda: np.testing.assert_array_equal(_confusion_on_page(pg), at[3]["confusion"]))
    shot(pg, "details-epoch-3")

    # The busiest off-diagonal cell; the count written on it is what the pointer lands on.
    cm = at[3]["confusion"].astype(int)
    off = cm - np.diag(np.diag(cm))
    true, said = (int(v) for v in np.unravel_index(off.argmax(), off.shape))
    pg.locator(f".st-key-inside_confusion g.mark-text text[aria-label^='Predicted: {said}; True digit: {true};']").click()
    pg.get_by_text(f"True {true}, said {said}").wait_for(timeout=60_000)
    pg.get_by_text(f"{int(off[true, said]):,} test images, most confident mistakes first").wait_for()

    # Exactly that cell's test images, most confident first, with their probabilities: worked out here from
    # the snapshot's raw mistakes and MNIST's labels.
    ids, proba = at[3]["wrong_ids"].astype(int), at[3]["wrong_proba"].astype(np.float32)
    inside = [(i, p) for i, p in zip(ids, proba) if mnist.y_test[i] == true and p.argmax() == said]
    inside.sort(key=lambda ip: -ip[1][said])
    assert len(inside) == off[true, said]
    expected = [f"{true} → {said} ({p[said]:.1%}); {true}: {p[true]:.1%}" for _, p in inside[:40]]
    wait_for_app(pg)
    gallery = pg.locator("[data-testid='stImageContainer']")
    expect(gallery.locator("[data-testid='stImageCaption']")).to_have_text(expected, timeout=30_000)
    # ... and the first picture is that test image's pixels.
    src = gallery.first.locator("img").evaluate("img => img.src")
    with urllib.request.urlopen(src, timeout=30) as reply:
        shown = np.asarray(Image.open(io.BytesIO(reply.read())).convert("L"))
    expected_pixels = mnist.x_test[inside[0][0]].reshape(28, 28) * 255
    np.testing.assert_allclose(shown, expected_pixels, atol=1)  # 0-1 floats back to bytes: rounding
    shot(pg, "details-cell")

    # Back to epoch 1: every view is redrawn there (the matrix's counts are epoch 1's).
    _slide(pg, "inside_epoch", "Home")
    for heading in ("Where it goes wrong at epoch 1", "What the first layer looks for, at epoch 1",
                    "The hidden space at epoch 1"):
        pg.get_by_text(heading).wait_for(timeout=60_000)
    wait_for_app(pg)
    assert not np.array_equal(at[1]["confusion"], at[3]["confusion"])
    _eventually(pg, lambda: np.testing.assert_array_equal(_confusion_on_page(pg), at[1]["confusion"]))
    shot(pg, "details-epoch-1")


def test_weight_pictures_hidden_space_and_histograms(page, server, runs):
    pg, run = page, runs[(100,)]
    snap = snapshots.load(run.path, 3)
    pg.goto(f"{server['url']}/details?run={run.run_id}")
    pg.get_by_text("What the first layer looks for, at epoch 3").wait_for(timeout=FIRST_LOAD)

    # 100 unit pictures, strongest first: the first one is the unit with the largest weight norm. They are
    # one picture; over each unit a cell takes the click.
    units = pg.locator(".st-key-inside_units g.mark-rect path")
    expect(units).to_have_count(100, timeout=60_000)
    wait_for_app(pg)
    # a grid of 20 columns with even gaps, not stretched across the page (measured at one moment: pictures
    # loading above move the page)
    first, right, below, box = pg.locator(".st-key-inside_units").evaluate(
        """el => { const at = e => { const r = e.getBoundingClientRect(); return [r.x, r.y, r.width, r.height]; };
                   const cells = el.querySelectorAll("g.mark-rect path");
                   return [...[0, 1, 20].map(i => at(cells[i])), at(el.querySelector("g.mark-image image"))]; }""")
    assert abs((right[0] - first[0]) - (below[1] - first[1])) < 2, (first, right, below)
    # the picture lies exactly under the cells: its top left is the first cell's, 20 cells wide, 5 high
    cell = right[0] - first[0]
    assert np.allclose(box, [first[0], first[1], 20 * cell, 5 * cell], atol=1.5), (box, first, cell)
    units.first.click()
    strongest = int(np.argmax(snap["unit_norm"]))
    pg.get_by_text(f"Unit {strongest} over the epochs").wait_for(timeout=60_000)
    wait_for_app(pg)
    expect(pg.locator("[data-testid='stImageCaption']").filter(has_text=re.compile(r"^epoch \d$"))).to_have_text(
        ["epoch 1", "epoch 2", "epoch 3"], timeout=30_000)

    # The hidden space: 2,000 points, and hovering one shows its digit, drawn 3x (84 px for 28).
    hidden = _chart(pg, "first principal axis")
    expect(hidden.locator("g.mark-symbol.role-mark path")).to_have_count(2000, timeout=60_000)
    point = hidden.locator("g.mark-symbol.role-mark path").first
    point.scroll_into_view_if_needed()
    wait_for_app(pg)
    point.hover(force=True)
    picture = pg.locator("#vg-tooltip-element img")
    expect(picture).to_be_visible(timeout=10_000)
    assert picture.get_attribute("src").startswith("data:image/png;base64,")
    assert picture.evaluate("img => img.naturalWidth") == 28 and picture.bounding_box()["width"] == 84
    shot(pg, "details-weights-hidden")

    # Histograms: one heatmap per layer (hidden 1, output), switched to the gradients.
    heatmaps = _chart(pg, "Weights").filter(has_text="Epoch")
    expect(heatmaps).to_have_count(2, timeout=30_000)
    # the red frame marks the slider's epoch over the whole height of the bins: room enough to read them
    frame = heatmaps.first.locator("path[stroke='#d62728']")
    assert frame.bounding_box()["height"] >= 150, frame.bounding_box()
    pg.locator(".st-key-inside_kind").get_by_text("Gradients").click()
    expect(_chart(pg, "Gradients").filter(has_text="Epoch")).to_have_count(2, timeout=60_000)


def _said(pg) -> str:
    heading = pg.get_by_text(re.compile(r"It's a \d \([0-9.]+% sure\)"))
    heading.wait_for(timeout=FIRST_LOAD)
    return heading.inner_text()


def test_an_uploaded_digit_is_traced_and_a_slider_moves_the_prediction(page, server, runs, mnist):
    pg = page
    digit = (255 - mnist.x_test[0].reshape(28, 28) * 255).astype(np.uint8)  # a 7, dark ink on white paper
    buf = io.BytesIO()
    Image.fromarray(np.kron(digit, np.ones((6, 6), np.uint8))).save(buf, format="PNG")
    pg.goto(f"{server['url']}/try")
    pg.get_by_role("tab", name="Upload").click(timeout=FIRST_LOAD)
    pg.locator("input[type=file]").set_input_files({"name": "seven.png", "mimeType": "image/png",
                                                    "buffer": buf.getvalue()})
    before = _said(pg)
    assert before.startswith("It's a 7")
    pg.get_by_text("Saliency: where ink would raise (red) or lower (blue)").wait_for()
    # A strip per layer of the newest run (32-16), each unit a visible cell; the digit, its saliency and
    # the 8 most excited units' pictures; a sweep chart per robustness knob.
    for title, cells in (("hidden layer 1: 32 units", 32), ("hidden layer 2: 16 units", 16),
                         ("output: the 10 logits", 10)):
        strip = _chart(pg, title).locator("g.mark-rect path")
        expect(strip).to_have_count(cells, timeout=60_000)
        assert strip.first.bounding_box()["height"] >= 10, f"{title}: its cells are not drawn"
    expect(pg.locator("[data-testid='stImageContainer'] img")).to_have_count(10, timeout=30_000)
    expect(_chart(pg, "Noise (σ)")).to_have_count(1)
    # Five sweeps share a row: the longest knob name is still read whole, inside its chart.
    rotate = _chart(pg, "Rotate anticlockwise (°)")
    title, frame = rotate.get_by_text("Rotate anticlockwise (°)").bounding_box(), rotate.locator("svg").first.bounding_box()
    assert frame["x"] <= title["x"] and title["x"] + title["width"] <= frame["x"] + frame["width"] + 1, (title, frame)
    wait_for_app(pg)
    shot(pg, "try-traced")

    # Six pixels to the right: the MLP, which has no idea neighbouring pixels belong together, is less sure
    # or changes its mind.
    _slide(pg, "trace_shift_x", "End")
    pg.get_by_text("What the network sees (28x28), moved by the sliders").wait_for(timeout=60_000)
    wait_for_app(pg)
    after = _said(pg)
    assert after != before, (before, after)
    shot(pg, "try-shifted")


def test_compare_puts_two_runs_inside_side_by_side(page, server, runs):
    pg = page
    a, b = runs[(100,)], runs[(32, 16)]
    wrong = {(r.run_id, e): len(snapshots.load(r.path, e)["wrong_ids"]) for r in (a, b) for e in (1, 3)}
    pg.goto(f"{server['url']}/compare?runs={a.run_id},{b.run_id}")
    pg.get_by_text("Inside two runs, side by side").wait_for(timeout=FIRST_LOAD)
    for r in (a, b):
        pg.get_by_text(f"epoch 3: {wrong[r.run_id, 3]:,} of 10,000 test images wrong").wait_for(timeout=60_000)
    # The first 100 units of the 100-unit run, all 32 of the other, side by side.
    grids = pg.locator("[data-testid='stVegaLiteChart']").filter(has=pg.locator("g.mark-image"))
    expect(grids).to_have_count(2, timeout=60_000)
    counts = sorted(grids.nth(i).locator("g.mark-rect path").count() for i in range(2))
    assert counts == [32, 100]
    wait_for_app(pg)
    shot(pg, "compare-weights")

    _slide(pg, "compare_inside_epoch", "Home")
    for r in (a, b):
        pg.get_by_text(f"epoch 1: {wrong[r.run_id, 1]:,} of 10,000 test images wrong").wait_for(timeout=60_000)
    pg.locator(".st-key-compare_inside_view").get_by_text("Hidden space").click()
    hidden = _chart(pg, "first principal axis")
    expect(hidden).to_have_count(2, timeout=60_000)
    for i in range(2):
        expect(hidden.nth(i).locator("g.mark-symbol.role-mark path")).to_have_count(2000, timeout=60_000)
    wait_for_app(pg)
    shot(pg, "compare-hidden")


def test_a_run_from_before_snapshots_opens_without_them_and_says_why(page, server, runs):
    pg = page
    old = next(r for r in server["user"].list() if r.reference)  # conftest's shipped runs keep no snapshots
    pg.goto(f"{server['url']}/details?run={old.run_id}")
    pg.get_by_text("This reference run was made before runs kept snapshots of their insides").wait_for(
        timeout=FIRST_LOAD)
    pg.get_by_role("heading", name="Where it goes wrong").wait_for()  # the final-model view instead
    wait_for_app(pg)
    expect(pg.locator(".st-key-inside_epoch")).to_have_count(0)
    expect(pg.get_by_text("Inside the network, epoch by epoch")).to_have_count(0)
    shot(pg, "details-before-snapshots")

    pg.goto(f"{server['url']}/compare?runs={old.run_id},{runs[(100,)].run_id}")
    pg.get_by_text("Select two runs that kept snapshots").wait_for(timeout=FIRST_LOAD)
    pg.get_by_text("1 of the selected runs has them").wait_for()
    expect(pg.locator(".st-key-compare_inside_epoch")).to_have_count(0)
