"""Study page speed: the page drawn from the shipped seed groups (~120 reference runs), in headless Chromium.

    python -m bench.study_speed [--repeat 3]

Measures, on fresh servers: the Study page opened by URL (Streamlit's page load included) and reached
from the sidebar, until the claim table, the first finding's two charts and the published results are
on screen. Target: under 2 s from the sidebar (the issue's "renders from the
shipped groups in under 2 s").
"""

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench import appserver
from mnist_core.store import RunStore


def drawn(pg, charts: int) -> None:
    pg.get_by_text("Published results", exact=True).wait_for()
    pg.locator("[data-testid='stTable']").first.wait_for()
    pg.wait_for_function(f"document.querySelectorAll(\"[data-testid='stVegaLiteChart']\").length >= {charts}")


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    runs = RunStore(reference_dir=True).list()
    charts = 2  # the first finding's curves; the others are drawn on request
    tmp = Path(tempfile.mkdtemp(prefix="bench-study-"))
    env = {**os.environ, "MNIST_RUNS_DIR": str(tmp / "user")}
    by_url, by_nav = [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=appserver.CHROMIUM, args=appserver.CHROMIUM_FLAGS)
        for _ in range(args.repeat):
            server, url = appserver.start(env, tmp / "server.log")
            try:
                pg = browser.new_page(viewport=appserver.VIEWPORT)
                t = time.perf_counter()
                pg.goto(url + "/study")
                drawn(pg, charts)
                by_url.append(time.perf_counter() - t)
                pg.get_by_role("link", name="Train").click()
                pg.get_by_role("button", name="Train", exact=True).wait_for()
                t = time.perf_counter()
                pg.get_by_role("link", name="Study").click()
                drawn(pg, charts)
                by_nav.append(time.perf_counter() - t)
            finally:
                appserver.stop(server)
        browser.close()
    med = statistics.median
    print(f"\n{os.cpu_count()} cores; {len(runs)} reference runs, {charts} charts; median of {args.repeat} fresh servers\n")
    print("| measure | seconds | target |")
    print("| --- | ---: | ---: |")
    print(f"| Study opened by URL, first visitor (page load included) | {med(by_url):.2f} | — |")
    print(f"| Study from the sidebar | {med(by_nav):.2f} | 2 |")


if __name__ == "__main__":
    main()
