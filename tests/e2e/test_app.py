"""A user in a browser: train live, refresh mid-run, stop, compare, open a shared link."""

import re

from mnist_core.config import RunConfig
from tests.e2e.conftest import wait_for_app


def _sidebar(pg):
    return pg.locator("[data-testid='stSidebar']")


def _choose(pg, label: str, option: str) -> None:
    """Pick an option in the selectbox with this label."""
    box = pg.locator("[data-testid='stSelectbox']").filter(has_text=label)
    box.click()
    pg.get_by_role("option", name=option, exact=True).click()


def _tick_row(pg, text: str) -> None:
    """Tick the selection box of the table row whose cells contain ``text``. The grid is drawn on a
    canvas; its accessible twin (a hidden table inside the canvas) says which row holds the text."""
    canvas = pg.locator("[data-testid='stDataFrame'] canvas").first
    row = canvas.locator("tr[role='row']", has_text=text).first
    row.wait_for(state="attached")
    index = int(row.get_attribute("aria-rowindex"))  # 1 is the header
    rows = int(canvas.locator("table[role='grid']").get_attribute("aria-rowcount"))
    box = canvas.bounding_box()
    height = box["height"] / rows
    pg.mouse.click(box["x"] + 16, box["y"] + height * (index - 0.5))
    pg.wait_for_function("t => [...document.querySelectorAll(\"[data-testid='stDataFrame'] canvas tr\")]"
                         ".some(r => r.textContent.includes(t) && r.getAttribute('aria-selected') === 'true')",
                         arg=text, timeout=10_000)


def _run_id(pg) -> str:
    match = re.search(r"[?&]run=([0-9a-z-]+)", pg.url)
    assert match, f"the URL does not follow a run: {pg.url}"
    return match.group(1)


def test_train_elu_with_batch_norm_live(page, server):
    pg = page
    pg.goto(f"{server['url']}/?epochs=2&train_examples=2000&learning_rate=0.1")
    wait_for_app(pg)
    slider = _sidebar(pg).get_by_role("slider", name="Units in layer 1")
    slider.focus()
    pg.keyboard.press("ArrowRight")  # 300 -> 400, the next value on the units scale
    pg.get_by_text("400-100 relu sgd lr0.1 n2000").first.wait_for()
    _choose(pg, "Activation", "elu")
    _sidebar(pg).locator("[data-testid='stCheckbox']").filter(has_text="Batch norm").click()
    pg.get_by_text("400-100 elu BN sgd lr0.1 n2000").first.wait_for()
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_text("Finished 2 epochs.").wait_for(timeout=60_000)
    # The final numbers arrive with the same redraw as the message, a moment after it.
    for text in ("Best test accuracy", "Reached 97%"):
        pg.get_by_text(text).wait_for(timeout=10_000)
    chart = pg.locator("[data-testid='stVegaLiteChart']").first
    chart.locator("svg").first.wait_for(timeout=10_000)
    assert "test accuracy" in chart.inner_text()
    run = server["user"].get(_run_id(pg))
    assert run.status == "finished" and len(run.history) == 2
    assert run.config == RunConfig(hidden=(400, 100), activation="elu", batch_norm=True, epochs=2,
                                   train_examples=2000, learning_rate=0.1)


def test_refresh_mid_run_then_stop(page, server):
    pg = page
    pg.goto(f"{server['url']}/?epochs=100&train_examples=10000")  # under a second an epoch: a minute's run
    wait_for_app(pg)
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_text(re.compile(r"Epoch ([2-9]|\d\d+)/100")).wait_for(timeout=60_000)
    run_id = _run_id(pg)
    pg.reload()  # the run lives on the server, not in the page
    pg.get_by_text(re.compile(r"Epoch \d+/100 · step")).wait_for(timeout=30_000)
    assert _run_id(pg) == run_id
    pg.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop", exact=True).click()
    pg.get_by_text(re.compile(r"Stopped after \d+ finished epochs?")).wait_for(timeout=30_000)
    run = server["user"].get(run_id)
    assert run.status == "stopped" and 1 <= len(run.history) < 100


def test_compare_two_runs_by_time(page, server):
    pg = page
    pg.goto(f"{server['url']}/compare")
    pg.get_by_placeholder("e.g. elu BN").fill("shipped-e2e")  # the two reference runs' tag
    pg.keyboard.press("Enter")
    pg.get_by_text("2 of ").wait_for()
    wanted = {r.data["label"]: r.run_id for r in server["user"].list() if "shipped-e2e" in r.data["tags"]}
    for label in sorted(wanted, reverse=True):  # tick each run's row, found by its label
        _tick_row(pg, label)
    pg.get_by_text("Settings that differ").wait_for()
    pg.wait_for_function(f"() => location.search.includes('runs=') && "
                         f"{' && '.join(f'location.search.includes({i!r})' for i in wanted.values())}")
    pg.get_by_text("Wall seconds", exact=True).click()
    chart = pg.locator("[data-testid='stVegaLiteChart']").first
    pg.wait_for_function("() => [...document.querySelectorAll('[data-testid=\"stVegaLiteChart\"] text')]"
                         ".some(t => t.textContent === 'Wall seconds')")
    legend = chart.inner_text()
    assert "300-100 relu sgd" in legend and "300-100 elu BN sgd" in legend
    diff = pg.locator("[data-testid='stTable']").inner_text()
    assert "Activation" in diff and "elu" in diff and "Batch norm" in diff
    assert "runs=" in pg.url  # the comparison is a shareable link


def test_a_shared_link_opens_with_its_settings(page, server):
    pg = page
    pg.goto(f"{server['url']}/?hidden=500-150&activation=elu&batch_norm=1&optimizer=nesterov&epochs=30")
    wait_for_app(pg)
    pg.get_by_text("500-150 elu BN nesterov").first.wait_for()
    sidebar = _sidebar(pg)
    sidebar.get_by_text("ELU is like ReLU").wait_for(timeout=10_000)  # the note of the selected activation
    assert sidebar.get_by_role("switch", name="Batch norm").is_checked()
    assert sidebar.get_by_role("slider", name="Units in layer 1").get_attribute("aria-valuetext") == "500"
    assert sidebar.get_by_role("slider", name="Units in layer 2").get_attribute("aria-valuetext") == "150"


def test_a_bad_link_warns_and_keeps_working(page, server):
    pg = page
    pg.goto(f"{server['url']}/?hidden=99999&epochs=-4&name=%3Cscript%3Ealert(1)%3C/script%3E")
    wait_for_app(pg)
    pg.get_by_text("Ignored the link's hidden").wait_for()
    pg.get_by_text("Ignored the link's epochs").wait_for()
    pg.get_by_text("300-100 relu sgd").first.wait_for()
    assert pg.get_by_role("button", name="Train", exact=True).is_enabled()
