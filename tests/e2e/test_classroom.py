"""A class in a browser: walk a lesson as a student, a link that hides controls, the presenter view."""

import re

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from playwright.sync_api import expect

from tests.e2e.conftest import wait_for_app

PAGES = ["", "compare", "details", "try", "pca", "study", "lessons", "lessons?lesson=network-size&step=3", "class"]


def _wait_for_query(pg, text: str) -> None:
    """Streamlit changes the address with the history API (no page load), so poll for it."""
    try:
        pg.wait_for_function(f"() => location.search.includes({text!r})", timeout=5000)
    except Exception:
        raise AssertionError(pg.evaluate("location.href"))


def test_walk_a_lesson_predict_train_reveal(page, server):
    pg = page
    pg.goto(f"{server['url']}/lessons")
    wait_for_app(pg)
    pg.get_by_role("link", name="Overfitting with a small training set").click()
    pg.get_by_text("Train on 1,000 images").wait_for()
    _wait_for_query(pg, "lesson=overfitting&step=1")
    expect(pg.get_by_role("button", name="Train", exact=True)).to_have_count(0)  # predict first
    pg.get_by_label("Your prediction (accuracy points)").fill("4")
    pg.get_by_role("button", name="Lock in my prediction").click()
    pg.get_by_text("The lesson sets: 300-100 relu nesterov n1000, 30 epochs").wait_for()
    expect(pg.locator("[data-testid='stSidebar'] [data-testid='stSelectbox']")).to_have_count(0)  # nothing to change
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_text("The reveal").wait_for(timeout=240_000)  # a real run on 1,000 real images (a busy CI: minutes)
    measured = pg.locator("[data-testid='stMetric']").filter(has_text="Measured: gap between training and test")
    prediction = pg.locator("[data-testid='stMetric']").filter(has_text="Your prediction")
    expect(prediction).to_contain_text("4.0 points")
    gap = float(re.search(r"(-?[0-9.]+) points", measured.inner_text()).group(1))
    assert gap > 2  # a network trained on 1,000 images does better on them than on new ones
    expect(prediction).to_contain_text(f"off by {abs(gap - 4):.1f} points")
    expect(pg.locator("[data-testid='stVegaLiteChart']").last).to_contain_text("train")
    pg.get_by_role("link", name=re.compile("Step 2")).click()
    pg.get_by_text("More data").first.wait_for()
    _wait_for_query(pg, "lesson=overfitting&step=2")


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
    assert pg.evaluate("getComputedStyle(document.documentElement).fontSize") == "22px"
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
