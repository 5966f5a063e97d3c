"""What a hostile student can send the server, in a real browser: injection links and names, and
(below) oversized or malformed uploads. Nothing reaches another visitor as a link, an image or an error box."""

import re
import time
from urllib.parse import urlparse

from mnist_core.config import RunConfig
from tests.e2e.conftest import wait_for_app
from tests.helpers import png_bytes, stored_run

PHISH = "[Your session expired, log in here](https://evil.example/login)"
IMAGE = "![i](https://evil.example/x.png)"


def _evil(url: str) -> bool:
    return (urlparse(url).hostname or "").endswith("evil.example")


def _shows_literally(pg, text: str, seconds: float = 15) -> bool:
    """The page shows `text` as typed within `seconds`: a page's elements arrive one by one, so the first
    match of a pattern (a chart legend, say) does not mean the rest of the page is there yet."""
    deadline = time.monotonic() + seconds
    while True:
        if text in pg.locator("[data-testid='stMain']").inner_text().replace("\u2060", ""):
            return True
        if time.monotonic() > deadline:
            return False
        pg.wait_for_timeout(200)


def _no_evil_markup(pg, fetched: list[str]) -> None:
    assert pg.locator("a[href*='evil.example']").count() == 0, "a link to evil.example is on the page"
    assert pg.locator("img[src*='evil.example']").count() == 0, "an image from evil.example is on the page"
    assert not fetched, f"the browser fetched {fetched}"
    assert pg.locator("[data-testid='stException']").count() == 0


def test_injection_links_show_their_text_and_nothing_else(page, server):
    pg = page
    fetched = []
    pg.on("request", lambda r: fetched.append(r.url) if _evil(r.url) else None)
    for value in (PHISH, IMAGE):
        pg.goto(server["url"] + "/details?run=" + value)
        wait_for_app(pg)
        pg.get_by_text(re.compile("is not a run id")).wait_for()
        assert _shows_literally(pg, value)
        _no_evil_markup(pg, fetched)
    pg.goto(server["url"] + "/?hidden=" + PHISH.replace("&", "%26"))
    wait_for_app(pg)
    pg.get_by_text(re.compile("Ignored the link's hidden")).wait_for()
    assert _shows_literally(pg, PHISH)
    _no_evil_markup(pg, fetched)


def test_a_hostile_run_name_and_reason_stay_text_on_every_page(page, server):
    pg = page
    fetched = []
    pg.on("request", lambda r: fetched.append(r.url) if _evil(r.url) else None)
    store = server["user"]
    run = stored_run(store, RunConfig(epochs=2, seed=7), [0.9, 0.95], status="failed", name=PHISH)
    store.update(run.run_id, reason=IMAGE + " www.evil.example")
    try:
        for path in (f"/details?run={run.run_id}", f"/?run={run.run_id}", f"/compare?runs={run.run_id}"):
            pg.goto(server["url"] + path)
            wait_for_app(pg)
            pg.get_by_text(re.compile("Your session expired")).first.wait_for()
            assert _shows_literally(pg, PHISH), path
            if "compare" not in path:
                assert _shows_literally(pg, IMAGE + " www.evil.example"), path
            _no_evil_markup(pg, fetched)
    finally:
        store.delete(run.run_id)


def test_oversized_and_malformed_uploads_are_refused_with_one_sentence(page, server):
    pg = page
    store = server["user"]
    run = stored_run(store, RunConfig(epochs=1, seed=8), [0.9])
    (run.path / "model.keras").write_bytes(b"")  # offered on Try a model; a refused upload never reaches it
    try:
        pg.goto(f"{server['url']}/try")
        wait_for_app(pg)
        pg.get_by_role("tab", name="Upload").click()
        uploads = [("black.png", png_bytes(12000, 12000), "12,000 x 12,000 pixels (144 megapixels)"),
                   ("bomb.png", png_bytes(20000, 20000, header_only=True), "more than 12 megapixels"),
                   ("broken.png", png_bytes(300, 300)[:150], "not a PNG or JPEG picture that can be read")]
        for name, raw, sentence in uploads:
            pg.locator("input[type=file]").set_input_files({"name": name, "mimeType": "image/png", "buffer": raw})
            alert = pg.locator("[data-testid='stAlertContentError']")
            alert.filter(has_text=sentence).wait_for(timeout=30_000)
            assert alert.count() == 1 and pg.locator("[data-testid='stException']").count() == 0, name
    finally:
        store.delete(run.run_id)
