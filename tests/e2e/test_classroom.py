"""A class in a browser: walk a lesson as a student, a link that hides controls, the presenter view."""

import os
import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from bench import appserver
from mnist_core.store import PROJECT_DIR
from tests.e2e.conftest import wait_for_app

PAGES = ["", "compare", "details", "try", "pca", "study", "lessons", "lessons?lesson=network-size&step=3", "class"]


def _wait_for_query(pg, text: str) -> None:
    """Streamlit changes the address with the history API (no page load), so poll for it."""
    try:
        pg.wait_for_function(f"() => location.search.includes({text!r})", timeout=20_000)
    except Exception:
        raise AssertionError(pg.evaluate("location.href"))


@pytest.fixture(scope="module")
def shipped_server(tmp_path_factory, mnist_path):
    """A server with the project's own reference runs, as a class gets it."""
    root = tmp_path_factory.mktemp("lessons")
    env = {**os.environ, "MNIST_DATA": str(mnist_path), "MNIST_RUNS_DIR": str(root / "user"),
           "MNIST_REFERENCE_RUNS": str(PROJECT_DIR / "cached_runs" / "reference")}
    proc, url = appserver.start(env, root / "server.log")
    yield url
    appserver.stop(proc)


def _predict_choice(pg, name: str) -> None:
    pg.locator("[data-testid='stRadio'] label").filter(has_text=re.compile(f"^{re.escape(name)}$")).click()
    pg.get_by_role("button", name="Lock in my prediction").click()


def _metric(pg, label: str):
    return pg.locator("[data-testid='stMetric']").filter(has_text=label)


def test_walk_a_whole_lesson_as_a_student(page, shipped_server):
    """Every step of "How big must the network be?": three reveals from the shipped runs, then a run of
    the student's own, each with the prediction beside the measured answer."""
    pg = page
    pg.goto(f"{shipped_server}/lessons")
    wait_for_app(pg)
    pg.get_by_role("link", name="How big must the network be?").click()
    pg.get_by_text("Four networks, sixty epochs").wait_for()
    _wait_for_query(pg, "lesson=network-size&step=1")
    expect(pg.locator("[data-testid='stVegaLiteChart']")).to_have_count(0)  # nothing shown before predicting
    _predict_choice(pg, "300-100")
    expect(_metric(pg, "Measured: best test accuracy")).to_contain_text("1568-500 (98.10%)")
    expect(_metric(pg, "Your prediction")).to_contain_text("300-100")
    expect(_metric(pg, "Your prediction")).to_contain_text("not this time")
    expect(pg.locator("[data-testid='stVegaLiteChart'] svg")).to_have_count(1)

    pg.get_by_role("link", name=re.compile("Step 2")).click()
    pg.get_by_text("The same runs, against the clock").first.wait_for()
    _predict_choice(pg, "100-30")
    expect(_metric(pg, "Measured: training seconds to reach 97%")).to_contain_text("100-30")
    expect(_metric(pg, "Your prediction")).to_contain_text("right")

    pg.get_by_role("link", name=re.compile("Step 3")).click()
    pg.get_by_text("What an epoch costs").first.wait_for()
    pg.get_by_label("Your prediction (times)").fill("3")
    pg.get_by_role("button", name="Lock in my prediction").click()
    ratio = float(re.search(r"([0-9.]+)×", _metric(pg, "1568-500 ÷ 300-100").inner_text()).group(1))
    assert 2 < ratio < 20  # measured on the shipped runs: the big net's epoch costs several times more
    expect(_metric(pg, "Your prediction")).to_contain_text("3.00×")

    pg.get_by_role("link", name=re.compile("Step 4")).click()
    pg.get_by_text("Your turn: how small can it be?").first.wait_for()
    pg.get_by_label("Your prediction (%)").fill("90")
    pg.get_by_role("button", name="Lock in my prediction").click()
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_text("The reveal").wait_for(timeout=240_000)  # a real run: 5 epochs of 10,000 images
    accuracy = float(re.search(r"([0-9.]+)%", _metric(pg, "Measured: best test accuracy of You").inner_text()).group(1))
    assert accuracy > 85  # even 30 hidden units learn MNIST in 5 epochs
    expect(_metric(pg, "Your prediction")).to_contain_text("90.00%")
    pg.get_by_role("link", name="Back to all lessons").click()
    pg.get_by_text("Guided exercises").wait_for()


def test_hide_removes_controls_and_lock_disables_them(page, server):
    pg = page
    pg.goto(f"{server['url']}/?hide=optimizer,batch_norm&optimizer=nesterov&lock=epochs")
    wait_for_app(pg)
    sidebar = pg.locator("[data-testid='stSidebar']")
    sidebar.get_by_text("Activation").first.wait_for()
    expect(sidebar.get_by_text("Optimizer", exact=True)).to_have_count(0)
    expect(sidebar.get_by_text("Batch norm", exact=True)).to_have_count(0)
    expect(sidebar.get_by_role("spinbutton", name="Epochs")).to_be_disabled()
    expect(pg.get_by_text("300-100 relu nesterov").first).to_be_visible()
    pg.goto(f"{server['url']}/")
    wait_for_app(pg)
    expect(pg.locator("[data-testid='stSidebar']").get_by_text("Optimizer", exact=True)).to_have_count(1)


@pytest.mark.parametrize("path", PAGES)
def test_presenter_view_renders_every_page_without_editing_controls(page, server, path):
    pg = page
    run = server["user"].list()
    query = f"runs={run[0].run_id}&" if path == "compare" and run else ""
    pg.goto(f"{server['url']}/{path}{'&' if '?' in path else '?'}{query}present=1")
    pg.locator("h1").first.wait_for(timeout=60_000)
    try:  # the PCA explorer may still be fitting on a busy machine; what is drawn so far is checked anyway
        wait_for_app(pg)
    except PlaywrightTimeout:
        pass
    # The presenter's larger type (its style arrives with the page's first elements, not before them).
    pg.wait_for_function("() => getComputedStyle(document.documentElement).fontSize === '22px'", timeout=30_000)
    expect(pg.locator("[data-testid='stException']")).to_have_count(0)
    for editing in ("Rename", "Delete", "Save"):
        expect(pg.get_by_role("button", name=editing)).to_have_count(0)
    expect(pg.get_by_text(re.compile("^Rename"))).to_have_count(0)
    sidebar = pg.locator("[data-testid='stSidebar']")
    assert sidebar.count() == 0 or sidebar.get_attribute("data-collapsed") == "true"


def test_class_page_click_a_point_to_open_the_run(page, server):
    from mnist_core.config import RunConfig
    from tests.helpers import stored_run

    mine = stored_run(server["user"], RunConfig(epochs=2, hidden=(77,)), [0.9, 0.93], name="[click](http://me)")
    pg = page
    pg.goto(f"{server['url']}/class")
    wait_for_app(pg)
    symbols = pg.locator("[data-testid='stVegaLiteChart'] .mark-symbol path")
    symbols.first.wait_for()
    # The one class point drawn in colour (reference runs are grey); hover shows the name as typed.
    box = pg.evaluate("""() => [...document.querySelectorAll("[data-testid='stVegaLiteChart'] .mark-symbol path")]
        .filter(p => !['#b5b5b5', 'rgb(181, 181, 181)'].includes(p.getAttribute('fill')))
        .map(p => p.getBoundingClientRect()).map(r => [r.x + r.width / 2, r.y + r.height / 2])""")
    assert box, "no class run drawn"
    x, y = box[0]
    pg.mouse.move(x, y)
    expect(pg.locator("#vg-tooltip-element")).to_contain_text("[click](http://me)")
    pg.mouse.click(x, y)
    pg.get_by_text("Run details").first.wait_for()
    pg.wait_for_function(f"() => location.search.includes({mine.run_id!r})")
