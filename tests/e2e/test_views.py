"""The inside-a-run views in a browser: details, try a model (draw and upload), PCA, lr finder, seeds."""

import io
import re
import time

import numpy as np
from PIL import Image
from playwright.sync_api import expect

from tests.e2e.conftest import wait_for_app


def _train(pg, server, query="epochs=2&train_examples=5000&learning_rate=0.1"):
    pg.goto(f"{server['url']}/?{query}")
    wait_for_app(pg)
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_text(re.compile(r"Finished \d+ epochs?\.")).wait_for(timeout=90_000)
    return re.search(r"run=([0-9a-z-]+)", pg.url).group(1)


def test_details_of_a_trained_run(page, server):
    """Run details of a fresh run: the epoch slider's views, and a click on a confusion-matrix cell shows
    exactly that cell's test images."""
    from mnist_core import snapshots

    pg = page
    run_id = _train(pg, server)
    pg.get_by_text("Open the run's details").click()
    pg.get_by_text("Where it goes wrong at epoch 2").wait_for()
    pg.get_by_text("Misclassified test images").wait_for()
    assert run_id in pg.url
    expect(pg.locator("[data-testid='stImageContainer'] img")).to_have_count(40, timeout=30_000)
    # accuracy, loss; confusion, per digit, weight pictures, hidden space, 3 histograms, dead units, gradients
    expect(pg.locator("[data-testid='stVegaLiteChart'] svg")).to_have_count(11, timeout=30_000)
    pg.get_by_text("Units that never activate").first.wait_for(timeout=10_000)
    expect(pg.locator(".st-key-inside_units g.mark-rect path")).to_have_count(300)  # a cell per unit

    cm = snapshots.load(server["user"].get(run_id).path, 2)["confusion"].astype(int)
    off = cm - np.diag(np.diag(cm))
    true, said = (int(v) for v in np.unravel_index(off.argmax(), off.shape))
    count = int(off[true, said])
    # The count written on the cell is what the pointer lands on.
    pg.locator(f".st-key-inside_confusion g.mark-text text[aria-label^='Predicted: {said}; True digit: {true};']").click()
    pg.get_by_text(f"True {true}, said {said}").wait_for()
    pg.get_by_text(f"{count:,} test images, most confident mistakes first").wait_for()
    expect(pg.locator("[data-testid='stImageContainer'] img")).to_have_count(min(count, 40))
    captions = pg.locator("[data-testid='stImageContainer'] [data-testid='stImageCaption']").all_inner_texts()
    assert captions and all(c.startswith(f"{true} → {said} (") for c in captions)

    # The slider goes back to epoch 1: everything is redrawn there.
    pg.locator(".st-key-inside_epoch input[type='range']").focus()
    pg.keyboard.press("Home")
    pg.get_by_text("Where it goes wrong at epoch 1").wait_for()
    pg.get_by_text("The hidden space at epoch 1").wait_for()


def test_upload_a_digit_and_see_the_prediction(page, server, mnist):
    pg = page
    _train(pg, server, "epochs=3&train_examples=20000&learning_rate=0.1")
    digit = (255 - mnist.x_test[1].reshape(28, 28) * 255).astype(np.uint8)  # a 2, dark ink on white
    buf = io.BytesIO()
    Image.fromarray(np.kron(digit, np.ones((6, 6), np.uint8))).save(buf, format="PNG")
    pg.goto(f"{server['url']}/try")
    pg.get_by_role("tab", name="Upload").click()
    pg.locator("input[type=file]").set_input_files({"name": "two.png", "mimeType": "image/png",
                                                    "buffer": buf.getvalue()})
    pg.get_by_text("What the network sees").wait_for(timeout=90_000)
    pg.get_by_text(re.compile(r"It's a 2 \([0-9.]+% sure\)")).wait_for(timeout=90_000)


def test_draw_on_the_canvas(page, server):
    pg = page
    pg.goto(f"{server['url']}/try")
    pg.get_by_text("Draw with the mouse").wait_for(timeout=60_000)
    frame = pg.frame_locator("iframe").first if pg.locator("iframe").count() else None
    canvas = (frame or pg).locator("canvas").last
    canvas.wait_for(timeout=30_000)
    box = canvas.bounding_box()
    pg.mouse.move(box["x"] + 140, box["y"] + 40)
    pg.mouse.down()
    for y in range(40, 250, 10):  # a vertical stroke: a 1
        pg.mouse.move(box["x"] + 140, box["y"] + y)
    pg.mouse.up()
    pg.get_by_text("What the network sees").wait_for(timeout=90_000)
    pg.get_by_text(re.compile(r"It's a \d \([0-9.]+% sure\)")).wait_for(timeout=90_000)


def test_pca_explorer(page, server):
    pg = page
    pg.goto(f"{server['url']}/pca")
    pg.get_by_text("154 components keep 95.0% of the pixel variance").wait_for(timeout=60_000)
    expect(pg.locator("[data-testid='stImageContainer'] img")).to_have_count(16, timeout=30_000)


def test_learning_rate_finder_applies_its_suggestion(page, server):
    pg = page
    pg.goto(f"{server['url']}/?train_examples=5000")
    wait_for_app(pg)
    pg.get_by_text("Learning-rate finder").click()
    pg.get_by_role("button", name="Run the range test").click()
    apply = pg.get_by_role("button", name=re.compile(r"Use learning rate [0-9.e-]+"))
    apply.wait_for(timeout=120_000)
    rate = re.search(r"Use learning rate ([0-9.e-]+)", apply.inner_text()).group(1)
    apply.click()
    pg.wait_for_function(f"() => location.search.includes('learning_rate={rate}')" if rate != "0.01"
                         else "() => !location.search.includes('learning_rate')")


def test_repeat_with_seeds_then_compare_the_band(page, server):
    pg = page
    pg.goto(f"{server['url']}/?epochs=2&train_examples=2000&hidden=64")
    wait_for_app(pg)
    spin = pg.get_by_role("spinbutton", name="Repeat with seeds")
    spin.fill("2")
    spin.press("Enter")
    pg.wait_for_timeout(500)
    pg.get_by_role("button", name="Train", exact=True).click()
    run_id = None
    pg.get_by_text(re.compile(r"Finished 2 epochs\.")).wait_for(timeout=90_000)
    run_id = re.search(r"run=([0-9a-z-]+)", pg.url).group(1)
    # The second seed trains after the first: the band needs both, each with its own curve.
    group = server["user"].get(run_id).data["group"]
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        members = [r for r in server["user"].list() if r.data.get("group") == group]
        if len(members) == 2 and all(r.status == "finished" and len(r.history) == 2 for r in members):
            break
        time.sleep(0.5)
    else:
        raise AssertionError(f"the second seed did not finish: {[(r.status, len(r.history)) for r in members]}")
    assert sorted(r.config.seed for r in members) == [42, 43]
    assert [h["train_loss"] for h in members[0].history] != [h["train_loss"] for h in members[1].history]
    pg.goto(f"{server['url']}/compare?runs={run_id}")
    pg.get_by_text("Seed groups").click()
    pg.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] text')]"
                         ".some(t => t.textContent.includes('(×2 seeds)'))", timeout=30_000)
