"""A class at once: 20 sessions press Train within seconds of each other.

    python -m bench.load [--sessions 20] [--think 3] [--browsers 0] [--hostile] [--data ../shared/data]

Each session (a student) opens the Train page, starts a small run (1 epoch, 2,000 examples) and,
while the queue drains, keeps using the page: it flips the batch-norm toggle every few seconds
(--think, a student's pace) and times how long the page takes to show the changed settings.
Sessions are websocket clients speaking Streamlit's own protocol (bench/st_client.py: the server
does the same work as for a tab, nobody renders), because twenty Chromium tabs on the server's own
two cores measure Chromium; --browsers N makes N of them real Chromium tabs.
At the end: were all runs stored and finished, the 95th percentile of the interaction times, and the
peak resident memory of the server and its worker processes (sampled every 0.5 s). Targets (issue 6):
all runs stored, p95 < 2 s, memory < 1.5 GB.

--hostile makes seven of the students hostile (bench/hostile.py: oversized uploads, injection links,
a flood of ten runs, the largest network) on a server started as for a class, and adds how long the
well-behaved students' runs waited, against one short run and the flood's runs started meanwhile.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from bench import appserver
from mnist_core.store import RunStore
from mnist_core.worker import rss_mb as process_rss_mb



def rss_mb(pid: int) -> dict[str, float]:
    """Resident memory in MB of a process and each of its descendants, by a short name."""
    sizes, todo = {}, [pid]
    while todo:
        p = todo.pop()
        try:
            cmd = open(f"/proc/{p}/cmdline").read().split("\0")
            name = "server" if p == pid else next((c for c in cmd if "mnist_core" in c), cmd[0]) + f" {p}"
            sizes[name] = process_rss_mb(p)
            for task in os.listdir(f"/proc/{p}/task"):  # children of every thread: the queue's threads
                todo += [int(c) for c in open(f"/proc/{p}/task/{task}/children").read().split()]  # start workers
        except OSError:
            pass
    return sizes


START = "epochs=1&train_examples=2000&seed={i}"


def want(bn: bool) -> str:
    """Text of the Train page's summary line once it shows the toggled settings."""
    return "relu BN sgd" if bn else "relu sgd n2000"


async def client_session(url: str, i: int, latencies: list, done: list, lost: list, think: float,
                         store: RunStore) -> None:
    """One student, as the websocket protocol: open, press Train, flip batch norm until the run ends."""
    from bench.st_client import Session

    async with Session(url, START.format(i=i)) as s:
        await s.rerun()
        run_id = await s.train()
        bn = False
        while store.get(run_id).status in ("queued", "running"):
            bn = not bn
            t = time.perf_counter()
            await s.toggle("Batch norm", bn)
            try:
                latencies.append(await s.wait_for_text(want(bn), t, 30))
            except TimeoutError:  # counted, not fatal: the report says how many answers never came
                lost.append(i)
            await asyncio.sleep(random.uniform(0.5, 1.5) * think)  # a student's pace, not a robot's
    done.append(i)


async def browser_session(browser, url: str, i: int, latencies: list, done: list, lost: list, think: float,
                          shots: Path) -> None:
    """One student in a real Chromium tab (same steps; its rendering shares the server's cores)."""
    ctx = await browser.new_context(viewport={"width": 1300, "height": 900})
    pg = await ctx.new_page()
    pg.set_default_timeout(300_000)
    await pg.goto(f"{url}/?{START.format(i=i)}")
    train = pg.get_by_role("button", name="Train", exact=True)
    await train.wait_for()
    await train.click()
    await pg.wait_for_function("() => location.search.includes('run=')")
    bn = False
    while not await pg.get_by_text("Finished 1 epoch.").count():
        bn = not bn
        t = time.perf_counter()
        await pg.locator("[data-testid='stSidebar'] [data-testid='stCheckbox']").filter(has_text="Batch norm").click()
        try:
            await pg.get_by_text(want(bn)).first.wait_for(timeout=30_000)
            latencies.append(time.perf_counter() - t)
        except Exception:  # counted, not fatal: the report says how many answers never came
            lost.append(i)
            await pg.screenshot(path=str(shots / f"unanswered-{i}-{len(lost)}.png"))
            await pg.reload()
            await pg.get_by_role("button", name="Train", exact=True).wait_for()
            bn = await pg.locator("[data-testid='stSidebar']").get_by_role("switch", name="Batch norm").is_checked()
        await asyncio.sleep(random.uniform(0.5, 1.5) * think)
    done.append(i)
    await ctx.close()


async def drive(url: str, args, latencies: list, done: list, lost: list, tmp: Path) -> None:
    store = RunStore(tmp / "runs", None)
    if args.hostile:
        await drive_hostile(url, args, latencies, done, lost, tmp, store)
        return
    tasks = [client_session(url, i, latencies, done, lost, args.think, store)
             for i in range(args.browsers, args.sessions)]
    if not args.browsers:
        await asyncio.gather(*tasks)
        return
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _idle_chromium(p)
        tasks += [browser_session(browser, url, i, latencies, done, lost, args.think, tmp)
                  for i in range(args.browsers)]
        await asyncio.gather(*tasks)
        await browser.close()


async def _idle_chromium(p):
    """Chromium at idle priority (SCHED_IDLE; Chromium resets nice values itself), so its rendering on
    the server's own two cores does not starve the server and the trainer."""
    wrapper = Path(tempfile.mkdtemp()) / "chromium-idle"
    wrapper.write_text(f'#!/bin/sh\nexec chrt --idle 0 {appserver.CHROMIUM} "$@"\n')
    wrapper.chmod(0o755)
    return await p.chromium.launch(executable_path=str(wrapper), args=appserver.CHROMIUM_FLAGS)


HOSTILE = {}  # what the hostile sessions measured, for the report


async def drive_hostile(url: str, args, latencies: list, done: list, lost: list, tmp: Path, store: RunStore) -> None:
    """The flood and the largest network ask first; the well-behaved students a second later, the
    injectors and uploaders throughout, until every run has ended."""
    from bench import hostile

    HOSTILE.update(latencies=latencies, inject=[], upload=[], unanswered=lost, rendered_injections=0,
                   upload_answers=set(), t0=time.perf_counter())
    stats = HOSTILE
    until = asyncio.Event()
    roles = [hostile.role(i, args.sessions) for i in range(args.sessions)]
    students = [i for i, r in enumerate(roles) if r == "student"]

    async def students_then_stop():
        await asyncio.sleep(1.5)  # behind the flood and the huge network, as the scenario has it
        await asyncio.gather(*[client_session(url, i, latencies, done, lost, args.think, store) for i in students])
        while any(r.status in ("queued", "running") for r in store.list()):  # the flood and the big run
            await asyncio.sleep(0.5)
        until.set()

    tasks = [students_then_stop(), hostile.flood(url, stats), hostile.huge(url, stats)]
    tasks += [hostile.injector(url, i, stats, until, args.think) for i, r in enumerate(roles) if r == "inject"]
    uploaders = [i for i, r in enumerate(roles) if r == "upload"]
    if not uploaders:
        await asyncio.gather(*tasks)
        return
    images = hostile.oversized_images(Path(tempfile.gettempdir()))
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await _idle_chromium(p)
        has_model = lambda: any(r.model_path for r in store.list())  # noqa: E731
        tasks += [hostile.uploader(browser, url, i, stats, until, images, args.think, has_model) for i in uploaders]
        await asyncio.gather(*tasks)
        await browser.close()


def wait_warm(pid: int, timeout: float = 300.0) -> None:
    """Until a training worker holds TensorFlow and MNIST (over 500 MB) and has stopped growing."""
    deadline, last = time.monotonic() + timeout, 0.0
    while time.monotonic() < deadline:
        size = max((v for k, v in rss_mb(pid).items() if k.startswith("mnist_core.worker")), default=0.0)
        if size > 500 and abs(size - last) < 0.02 * size:
            return
        last = size
        time.sleep(3)


def watch_runs(store: RunStore, seen: dict, stop: threading.Event) -> None:
    """When each run was first seen queued, running and ended (every 0.2 s: finer than run.json's
    one-second timestamps)."""
    while not stop.is_set():
        now = time.perf_counter()
        for r in store.list():
            times = seen.setdefault(r.run_id, {"queued": now})
            if r.status != "queued":
                times.setdefault("running", now)
            if r.status not in ("queued", "running"):
                times.setdefault("ended", now)
        time.sleep(0.2)


def report_hostile(runs: list, seen: dict) -> None:
    """How long the well-behaved students' runs waited, and what the hostile sessions got."""
    from bench.hostile import FLOOD

    flood_seed = int(FLOOD.split("seed=")[1])
    kind = {r.run_id: ("flood" if r.config.seed == flood_seed else "big" if r.config.seed >= 2000 else "student")
            for r in runs}
    short = [seen[r]["ended"] - seen[r]["running"] for r, k in kind.items()
             if k == "student" and {"running", "ended"} <= seen.get(r, {}).keys()]
    one_run = statistics.median(short) if short else float("nan")
    waits, flood_ahead = [], []
    for r, k in kind.items():
        if k != "student" or "running" not in seen.get(r, {}):
            continue
        queued, started = seen[r]["queued"], seen[r]["running"]
        waits.append(started - queued)
        flood_ahead.append(sum(1 for o, ko in kind.items() if ko == "flood" and "running" in seen.get(o, {})
                               and queued < seen[o]["running"] < started))
    counts = {k: sum(v == k for v in kind.values()) for k in ("student", "flood", "big")}
    print(f"| runs stored: students / flood / largest allowed network | {counts['student']} / {counts['flood']} / "
          f"{counts['big']} | 13 / 10 / 1 |")
    big = [r for r in runs if kind[r.run_id] == "big"]
    if big:
        print(f"| the largest allowed network ended | {big[0].status}: {big[0].data.get('reason')} | stopped at the limit |")
    print(f"| the 4096x4096x4096x4096 network | refused: {HOSTILE.get('huge_refusal', '(no answer)')} | refused |")
    print(f"| one short run (median, running to ended) | {one_run:.1f} s | |")
    if waits:
        print(f"| well-behaved run's wait in the queue: median / max | {statistics.median(waits):.1f} s / {max(waits):.1f} s "
              f"({statistics.median(waits) / one_run:.1f} / {max(waits) / one_run:.1f} short runs) | |")
        print(f"| flood runs started while a well-behaved run waited: max | {max(flood_ahead)} | ≤ 1 |")
    for name in ("inject", "upload"):
        xs = HOSTILE.get(name) or []
        if xs:
            print(f"| {name} answers: count, p50 / max | {len(xs)}, {statistics.median(xs):.2f} s / {max(xs):.2f} s | |")
    print(f"| injection links rendered as links or images | {HOSTILE.get('rendered_injections')} | 0 |")
    for answer in sorted(HOSTILE.get("upload_answers") or []):
        print(f"| an upload's answer | {answer.splitlines()[0]} | one sentence |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=20)
    ap.add_argument("--data", default=None)
    ap.add_argument("--browsers", type=int, default=0,
                    help="how many of the sessions are real Chromium tabs (default 0: all protocol clients)")
    ap.add_argument("--think", type=float, default=3.0,
                    help="mean seconds each session waits between interactions (default 3)")
    ap.add_argument("--hostile", action="store_true",
                    help="7 of the sessions are hostile, on a server with a class's limits (bench/hostile.py)")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-load-"))
    env = {**os.environ, "MNIST_RUNS_DIR": str(tmp / "runs"), "MNIST_REFERENCE_RUNS": ""}
    if args.hostile:
        from bench.hostile import CLASS_ENV

        env.update(CLASS_ENV)
    if args.data:
        env["MNIST_DATA"] = args.data
    try:
        server, url = appserver.start(env, tmp / "server.log")
    except appserver.ServerError as e:
        sys.exit(str(e))
    urllib.request.urlopen(url + "/")  # first visit: starts the worker processes
    time.sleep(10)
    if args.hostile:  # waits are measured from here: the training worker must be ready, not warming up
        wait_warm(server.pid)
    peak, stop, workers = [{}], threading.Event(), set()

    def sample():
        while not stop.is_set():
            sizes = rss_mb(server.pid)
            workers.update(k for k in sizes if k.startswith("mnist_core.worker"))
            if sum(sizes.values()) > sum(peak[0].values()):
                peak[0] = sizes
            time.sleep(0.5)
    threading.Thread(target=sample, daemon=True).start()
    seen: dict = {}
    threading.Thread(target=watch_runs, args=(RunStore(tmp / "runs", None), seen, stop), daemon=True).start()
    latencies, done, lost = [], [], []
    t = time.perf_counter()
    try:
        asyncio.run(drive(url, args, latencies, done, lost, tmp))
        elapsed = time.perf_counter() - t
    finally:
        stop.set()
        appserver.stop(server)
    runs = RunStore(tmp / "runs", None).list()
    finished = [r for r in runs if r.status == "finished" and len(r.history) == r.config.epochs]
    # Lost: a run the server accepted that did not end as finished or stopped with its epochs.
    run_lost = [r for r in runs if r.status not in ("finished", "stopped")]
    p95 = statistics.quantiles(latencies, n=20)[-1] if len(latencies) >= 2 else float("nan")
    print(f"\nserver log and runs in {tmp}")
    print(f"\n{args.sessions} sessions ({args.browsers} in Chromium, the rest websocket clients), "
          f"one interaction every ~{args.think:g} s each, {os.cpu_count()} cores, "
          f"{os.environ.get('MNIST_MAX_TRAININGS', 'default')} concurrent trainings\n")
    print("| measure | value | target |")
    print("| --- | ---: | ---: |")
    if args.hostile:
        print(f"| runs stored / finished / lost | {len(runs)} / {len(finished)} / {len(run_lost)} | 24 / 23 / 0 |")
    else:
        print(f"| runs stored / finished | {len(runs)} / {len(finished)} | {args.sessions} / {args.sessions} |")
    print(f"| all sessions done in | {elapsed:.0f} s | |")
    print(f"| page interactions timed / unanswered after 30 s | {len(latencies)} / {len(lost)} | all answered |")
    print(f"| interaction p50 / p95 | {statistics.median(latencies):.2f} s / {p95:.2f} s | p95 < 2 s |")
    parts = ", ".join(f"{k} {v:.0f}" for k, v in sorted(peak[0].items()))
    print(f"| peak resident memory, server + workers | {sum(peak[0].values()):.0f} MB ({parts}) | < 1,500 MB |")
    if args.hostile:
        report_hostile(runs, seen)
        print(f"| worker processes seen (a worker past MNIST_WORKER_MAX_MB is replaced between jobs and warms "
              f"up again) | {len(workers)} | |")


if __name__ == "__main__":
    main()
