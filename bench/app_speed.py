"""App speed, measured in headless Chromium against a real server.

    python -m bench.app_speed [--data ../shared/data]

- controls interactive: from navigation start to the sidebar's sliders and the Train button being
  usable, on a freshly started server (first visitor) and on a warm one;
- Train to first point: from the click to the first epoch's numbers on the page, 10,000-example run,
  warm server;
- Compare with 200 stored runs: from navigation to the table drawn, and to a 3-run overlay drawn;
- Class with 200 runs of the last two hours: from navigation to the scatter and the best-settings
  table drawn (a server whose user store holds the 200 runs, beside the shipped reference runs): the
  first visitor of a fresh server by URL, then a later visitor by URL and from the sidebar
  (``--class`` measures only this).
- Run details of a 60-epoch run with its 10 snapshots and every view (``--inside`` measures only this):
  warm open by URL and from the sidebar until the last view is drawn, and the epoch slider's redraw,
  timed inside the page (see ``PAGE_CLOCK``), beside the same key press on a page of one slider and a
  heading (Streamlit's own floor on this machine).
Targets (issues 3, 11 and 12): <= 3 s, <= 2.5 s, <= 2 s, Class <= 2 s, Run details <= 2 s, slider <= 0.5 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from bench import appserver
from mnist_core.config import RunConfig
from mnist_core.store import RunStore



def fill_store(folder: Path, n: int) -> None:
    """n finished runs of 60 epochs with varied settings, written as the trainer would: layer health per
    epoch and the final analysis (confusion matrix, 200 misclassified images), so each run.json is
    about 53 KB, as the shipped reference runs are."""
    import random

    rng = random.Random(0)
    store = RunStore(folder)
    for i in range(n):
        c = RunConfig(hidden=rng.choice([(300, 100), (100, 30), (500, 150)]), seed=i, epochs=60,
                      activation=rng.choice(["relu", "elu"]), batch_norm=rng.random() < 0.5)
        run_id = store.create(c)

        def fill(d, c=c):
            acc, seconds = 0.9, rng.uniform(0.3, 1.5)
            for e in range(1, 61):
                acc += (0.985 - acc) * 0.1
                d["history"].append({"epoch": e, "train_loss": 1 - acc, "train_accuracy": acc,
                                     "test_loss": 1.1 - acc, "test_accuracy": acc - rng.uniform(0, 0.01),
                                     "train_seconds": seconds * e, "wall_seconds": (seconds + 0.05) * e,
                                     "dead_units": [rng.random() / 10 for _ in c.hidden],
                                     "grad_norm": [rng.random() for _ in range(len(c.hidden) + 1)]})
            d["status"] = "finished"
            d["analysis"] = {"accuracy": acc, "per_class_accuracy": [rng.uniform(0.95, 1) for _ in range(10)],
                             "confusion": [[rng.randrange(1000) for _ in range(10)] for _ in range(10)],
                             "misclassified_total": 200,
                             "misclassified": [{"index": rng.randrange(10_000), "true": rng.randrange(10),
                                                "pred": rng.randrange(10), "confidence": round(rng.random(), 4),
                                                "top3": [rng.randrange(10) for _ in range(3)]} for _ in range(200)]}
        store.update(run_id, fill)


def controls_ready(pg, url: str) -> float:
    t = time.perf_counter()
    pg.goto(url)
    pg.get_by_role("button", name="Train", exact=True).wait_for()
    pg.locator("[data-testid='stSidebar']").get_by_role("slider").first.wait_for()
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    return time.perf_counter() - t


def train_to_first_point(pg, url: str) -> float:
    pg.goto(url + "/?train_examples=10000&epochs=3")
    pg.get_by_role("button", name="Train", exact=True).wait_for()
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')")
    t = time.perf_counter()
    pg.get_by_role("button", name="Train", exact=True).click()
    pg.get_by_text("Best test accuracy").wait_for(timeout=60_000)
    first = time.perf_counter() - t
    pg.get_by_text("Finished 3 epochs.").wait_for(timeout=60_000)
    return first


def compare_render(pg, url: str) -> tuple[float, float, float]:
    t = time.perf_counter()
    pg.goto(url + "/compare")
    pg.locator("[data-testid='stDataFrame']").first.wait_for()
    pg.get_by_text("runs shown").wait_for()
    table = time.perf_counter() - t
    pg.get_by_role("link", name="Train").click()  # and back again, as a user moves between pages
    pg.get_by_role("button", name="Train", exact=True).wait_for()
    t = time.perf_counter()
    pg.get_by_role("link", name="Compare").click()
    pg.get_by_text("runs shown").wait_for()
    navigate = time.perf_counter() - t
    ids = ",".join(r.run_id for r in RunStore(os.environ["BENCH_STORE"]).list()[:3])
    t = time.perf_counter()
    pg.goto(url + f"/compare?runs={ids}")
    pg.get_by_text("Settings that differ").wait_for()
    pg.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for()
    return table, navigate, time.perf_counter() - t


def class_render(pg, url: str) -> tuple[float, float, float]:
    """The Class page by URL (Streamlit's page load included) and from the sidebar; also when, in the
    visit by URL, Streamlit's own page (its sidebar of pages) was there, before anything of the Class."""
    def drawn():
        pg.locator("[data-testid='stVegaLiteChart'] svg").first.wait_for()
        pg.get_by_text("Settings that gave the best results").wait_for()
        pg.locator("[data-testid='stDataFrame']").first.wait_for()
        pg.get_by_text("200 runs from the last 2 hours").wait_for()

    t = time.perf_counter()
    pg.goto(url + "/class")
    pg.locator("[data-testid='stSidebarNav']").wait_for()
    shell = time.perf_counter() - t
    drawn()
    by_url = time.perf_counter() - t
    pg.get_by_role("link", name="Train").click()
    pg.get_by_role("button", name="Train", exact=True).wait_for()
    t = time.perf_counter()
    pg.get_by_role("link", name="Class").click()
    drawn()
    return shell, by_url, time.perf_counter() - t


def inside_store(folder: Path, data_path: str | None) -> str:
    """A real 60-epoch 300-100 run with its snapshots at the 10 epochs of the schedule, trained on 7,000
    images (a few seconds), so every snapshot differs as in any run. Returns the run id."""
    from mnist_core import runner

    store = RunStore(folder, reference_dir=False)
    return runner.execute(RunConfig(epochs=60, train_examples=7000), store, data_path=data_path).run_id


def idle(pg) -> None:
    pg.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=120_000)


# Timed inside the page, as a person sees it: from the key press, click or navigation until the page has
# finished drawing, that is, until no long animation frame (a frame that took over 50 ms of script, style,
# layout and paint: a redraw's work) has ended for half a second; the end is when the last one ended.
# Waiting is cheap polling of the headings' text, not Playwright's text search, whose scans of a
# 6,000-element page cost the browser more than a redraw. Also kept: the frames' total duration, the
# browser's own work for the redraw.
PAGE_CLOCK = """
window.__frames = [];
new PerformanceObserver(l => { for (const e of l.getEntries()) window.__frames.push([e.startTime, e.duration]); })
  .observe({type: 'long-animation-frame', buffered: true});
for (const kind of ['keydown', 'pointerdown']) document.addEventListener(kind, () => { window.__t0 = performance.now(); }, true);
"""
SETTLED = """async ([heading, charts]) => {
  const shown = () => [...document.querySelectorAll('h1, h2, h3')].some(h => h.textContent.includes(heading))
      && document.querySelectorAll("[data-testid='stVegaLiteChart'] svg.marks, [data-testid='stVegaLiteChart'] canvas.marks").length >= charts
      && !document.querySelector("[data-testid='stStatusWidget']");
  while (!shown()) await new Promise(r => setTimeout(r, 25));
  const seen = performance.now(), t0 = window.__t0 || 0;
  for (;;) {
    const frames = window.__frames.filter(([start]) => start >= t0);
    const last = Math.max(seen, ...frames.map(([start, took]) => start + took));
    if (performance.now() - last > 500) return [(last - t0) / 1000, frames.reduce((sum, [, took]) => sum + took, 0) / 1000];
    await new Promise(r => setTimeout(r, 50));
  }
}"""


def drawn_after(pg, heading: str, charts: int = 0, work: list | None = None) -> float:
    """Seconds from the last key press or click (or the navigation, if none) until the page shows
    ``heading`` and ``charts`` charts, idle, and has finished drawing; the seconds of the browser's long
    frames in that time are appended to ``work``."""
    took, busy = pg.evaluate(SETTLED, [heading, charts])
    if work is not None:
        work.append(busy)
    return took


def inside_render(pg, url: str, run_id: str, work: list) -> tuple[float, list[float], float]:
    """Run details with every view on a warm server: opened by URL (Streamlit's page load included), the
    slider moved back epoch by epoch, then the page opened again from the sidebar (as a student moves
    between pages)."""
    pg.add_init_script(PAGE_CLOCK)
    pg.goto(f"{url}/details?run={run_id}")
    opened = drawn_after(pg, "The hidden space at epoch 60", 11)
    slides = []
    for epoch in (45, 30, 20, 13, 8):
        pg.locator(".st-key-inside_epoch input[type='range']").focus()
        pg.keyboard.press("ArrowLeft")
        slides.append(drawn_after(pg, f"The hidden space at epoch {epoch}", 11, work))
    pg.get_by_role("link", name="Train").click()
    pg.get_by_role("button", name="Train", exact=True).wait_for(timeout=120_000)
    idle(pg)
    pg.get_by_role("link", name="Run details").click()  # the newest run: this one
    return opened, slides, drawn_after(pg, "The hidden space at epoch 60", 11)


FLOOR_PAGE = """import streamlit as st
epoch = st.select_slider("Epoch", options=[1, 2, 3, 5, 8, 13, 20, 30, 45, 60], value=60, key="e")
st.subheader(f"At epoch {epoch}")
"""


def streamlit_floor(browser, tmp: Path) -> float:
    """The same key press on a page holding only a slider and a heading: what any Streamlit rerun costs on
    this machine, the floor under the slider's redraw (median of 5)."""
    script = tmp / "floor.py"
    script.write_text(FLOOR_PAGE)
    server, url = appserver.start(dict(os.environ), tmp / "floor.log", script=script)
    try:
        pg = browser.new_page(viewport=appserver.VIEWPORT)
        pg.add_init_script(PAGE_CLOCK)
        pg.goto(url)
        drawn_after(pg, "At epoch 60")
        times = []
        for epoch in (45, 30, 20, 13, 8):
            pg.locator(".st-key-e input[type='range']").focus()
            pg.keyboard.press("ArrowLeft")
            times.append(drawn_after(pg, f"At epoch {epoch}"))
        return statistics.median(times)
    finally:
        appserver.stop(server)


def inside_only(args, tmp: Path) -> None:
    from playwright.sync_api import sync_playwright

    run_id = inside_store(tmp / "inside", args.data)
    env = {**os.environ, "MNIST_RUNS_DIR": str(tmp / "inside"), "MNIST_REFERENCE_RUNS": ""}
    if args.data:
        env["MNIST_DATA"] = args.data
    opens, slides, navs, work = [], [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=appserver.CHROMIUM, args=appserver.CHROMIUM_FLAGS)
        floor = streamlit_floor(browser, tmp)
        server, url = appserver.start(env, tmp / "server.log")
        try:
            inside_render(browser.new_page(viewport=appserver.VIEWPORT), url, run_id, [])  # warms up
            for _ in range(args.repeat):
                a, b, c = inside_render(browser.new_page(viewport=appserver.VIEWPORT), url, run_id, work)
                opens.append(a)
                slides += b
                navs.append(c)
        finally:
            appserver.stop(server)
        browser.close()
    med = statistics.median
    print(f"\nRun details, 60-epoch run, 10 snapshots, warm server, timed in the page until drawn; median of "
          f"{args.repeat} visits: open by URL {med(opens):.2f} s, from the sidebar {med(navs):.2f} s (target 2); "
          f"slider redraw {med(slides):.2f} s (target 0.5; {len(slides)} moves, {min(slides):.2f}-"
          f"{max(slides):.2f}; the browser's long frames {med(work):.2f} s of it); the same key press on a page "
          f"of one slider and a heading {floor:.2f} s, so the redraw is {med(slides) / floor:.1f}x Streamlit's "
          f"floor on this machine")


def train_and_compare(browser, env: dict, tmp: Path) -> dict:
    """One fresh server: the Train page's measures, then Compare's."""
    server, url = appserver.start(env, tmp / "server.log")
    try:
        m = {"cold": controls_ready(browser.new_page(viewport=appserver.VIEWPORT), url)}
        time.sleep(15)  # let the worker process finish warming up (TensorFlow, MNIST, XLA)
        m["warm"] = controls_ready(browser.new_page(), url)
        m["first"] = train_to_first_point(browser.new_page(viewport=appserver.VIEWPORT), url)
        m["table"], m["navigate"], m["overlay"] = compare_render(
            browser.new_page(viewport=appserver.VIEWPORT), url)
        return m
    finally:
        appserver.stop(server)


def class_measures(browser, env: dict, tmp: Path) -> dict:
    """One fresh server whose own store holds the 200 runs (beside the shipped reference runs): its first
    visitor, then, once the server is warm, a later visitor by URL and from the sidebar."""
    server, url = appserver.start(env, tmp / "server.log")
    try:
        m = {"class_first": class_render(browser.new_page(viewport=appserver.VIEWPORT), url)[1]}
        time.sleep(20)  # the workers warm up 3 s after a page that only shows runs; a class's server is warm
        m["class_shell"], m["class_url"], m["class_nav"] = class_render(
            browser.new_page(viewport=appserver.VIEWPORT), url)
        return m
    finally:
        appserver.stop(server)


ROWS = [("cold", "controls interactive, first visitor of a fresh server", 3),
        ("warm", "controls interactive, warm server", 3),
        ("first", "Train click to first epoch point (10,000 examples, warm)", 2.5),
        ("table", "Compare table with 200 stored runs, opened by URL (page load included)", 2),
        ("navigate", "Compare table with 200 stored runs, opened from the sidebar", 2),
        ("overlay", "Compare overlay of 3 of those runs", 2),
        ("class_first", "Class with 200 runs of the last 2 hours, first visitor of a fresh server, by URL", ""),
        ("class_url", "Class with 200 runs, a later visitor, by URL (page load included)", 2),
        ("class_shell", "... of which Streamlit's own page (its sidebar of pages drawn)", ""),
        ("class_nav", "Class with 200 runs, opened from the sidebar", 2)]


def main() -> None:
    from playwright.sync_api import sync_playwright

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--inside", action="store_true", help="measure only Run details with snapshots")
    ap.add_argument("--class", dest="class_only", action="store_true", help="measure only the Class page")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-app-"))
    if args.inside:
        return inside_only(args, tmp)
    fill_store(tmp / "many", 200)
    os.environ["BENCH_STORE"] = str(tmp / "many")
    env = {**os.environ, "MNIST_RUNS_DIR": str(tmp / "user"), "MNIST_REFERENCE_RUNS": str(tmp / "many")}
    if args.data:
        env["MNIST_DATA"] = args.data
    classroom = {k: v for k, v in env.items() if k != "MNIST_REFERENCE_RUNS"}  # the shipped reference runs
    measured: dict[str, list[float]] = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=appserver.CHROMIUM, args=appserver.CHROMIUM_FLAGS)
        for _ in range(args.repeat):
            rounds = [] if args.class_only else [train_and_compare(browser, env, tmp)]
            rounds.append(class_measures(browser, {**classroom, "MNIST_RUNS_DIR": str(tmp / "many")}, tmp))
            for m in rounds:
                for k, v in m.items():
                    measured.setdefault(k, []).append(v)
        browser.close()
    med = {k: statistics.median(v) for k, v in measured.items()}
    print(f"\n{os.cpu_count()} cores; median of {args.repeat} fresh servers\n")
    print("| measure | seconds | target |")
    print("| --- | ---: | ---: |")
    for key, label, target in ROWS:
        if key in med:
            print(f"| {label} | {med[key]:.2f} | {target} |")
    if "table" in med:
        print(f"\nClass by URL / Compare by URL, same run: {med['class_url'] / med['table']:.2f}x")


if __name__ == "__main__":
    main()
