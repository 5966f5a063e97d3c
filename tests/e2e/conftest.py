"""End-to-end: the real app in a real server, driven in headless Debian Chromium with Playwright.

Playwright's own browser download cannot work offline, so Debian's chromium is used. Without it the
tests are skipped, unless REQUIRE_BROWSER=1 (CI), where a missing browser is a failure.
A screenshot of the page is saved in tests/e2e/screenshots/ whenever a test fails.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench import appserver
from bench.appserver import CHROMIUM
from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.helpers import stored_run

SHOTS = Path(__file__).parent / "screenshots"


def pytest_collection_modifyitems(items):
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.fixture(scope="session")
def chromium():
    if not Path(CHROMIUM).exists():
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(f"{CHROMIUM} not found: apt-get install chromium chromium-driver")
        pytest.skip(f"{CHROMIUM} not found: apt-get install chromium chromium-driver to run browser tests")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=appserver.CHROMIUM_FLAGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def server(tmp_path_factory, mnist_path):
    """A fresh app server on a free port, with two shipped reference runs and an empty user store."""
    root = tmp_path_factory.mktemp("e2e")
    reference = RunStore(root / "reference")
    stored_run(reference, RunConfig(epochs=4), [0.93, 0.95, 0.96, 0.965], seconds_per_epoch=0.6,
               tags=["shipped-e2e"])
    stored_run(reference, RunConfig(activation="elu", batch_norm=True, epochs=4), [0.95, 0.965, 0.97, 0.975],
               seconds_per_epoch=1.1, tags=["shipped-e2e"])
    env = {**os.environ, "MNIST_DATA": str(mnist_path), "MNIST_RUNS_DIR": str(root / "user"),
           "MNIST_REFERENCE_RUNS": str(root / "reference")}
    try:
        proc, url = appserver.start(env, root / "server.log")
    except appserver.ServerError as e:
        pytest.fail(str(e))
    yield {"url": url, "user": RunStore(root / "user", root / "reference"), "root": root}
    appserver.stop(proc)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    setattr(item, f"rep_{report.when}", report)


@pytest.fixture
def page(chromium, request):
    context = chromium.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    if getattr(request.node, "rep_call", None) is not None and request.node.rep_call.failed:
        SHOTS.mkdir(exist_ok=True)
        pg.screenshot(path=str(SHOTS / f"{request.node.name}.png"), full_page=True)
    context.close()


def wait_for_app(pg) -> None:
    """The page has drawn and no script run is in progress."""
    pg.wait_for_selector("[data-testid='stApp']")
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=60_000)
