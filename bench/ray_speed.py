"""Sweep throughput on a local Ray cluster with 1 and then 2 worker slots, as a ratio.

    python -m bench.ray_speed [--epochs 1] [--examples 10000] [--data ../shared/data]

The notebook's grid (14 settings; here with ``--epochs`` epochs on ``--examples`` training images
so it ends in minutes) is trained through the same path as ``sweep --backend ray``: the job queue with
the Ray runner, each run a Ray task taking one CPU slot, events and models streamed back to a
temporary store. For each cluster size it reports the grid's wall time after the workers are warm
(one short run per slot first: TensorFlow's import and MNIST's load are paid once per worker
process, which Ray keeps for later tasks) and the cold start (Ray's start plus that warm-up).

Ray advertises the machine's outward address even on one machine, so the bench re-runs itself inside
a private network namespace (``unshare -n``, loopback only; needs root) and checks with ``ss`` that
every connection was to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time


def _in_namespace(argv: list[str]) -> int:
    env = {**os.environ, "MNIST_BENCH_NETNS": "1", "RAY_USAGE_STATS_ENABLED": "0"}
    env.pop("RAY_ADDRESS", None)
    script = 'ip link set lo up && exec "$0" -m bench.ray_speed "$@"'
    try:
        return subprocess.run(["unshare", "-n", "sh", "-c", script, sys.executable, *argv], env=env).returncode
    except OSError as e:
        print(f"cannot make a private network namespace ({e}); Ray must not run in the machine's network here")
        return 2


def _connections() -> tuple[int, list[str]]:
    """(TCP connections seen, those not on the loopback)."""
    lines = subprocess.run(["ss", "-tnaH"], capture_output=True, text=True).stdout.splitlines()
    outside = [line for line in lines for a in line.split()[3:5]
               if not a.rsplit(":", 1)[0].strip("[]").removeprefix("::ffff:").startswith(("127.", "::1", "*", "0.0.0.0"))
               and a.rsplit(":", 1)[0].strip("[]") not in ("::",)]
    return len(lines), outside


def _grid(workers: int, configs, data_path: str | None) -> dict:
    import ray

    from mnist_core.cluster import RayTrainer, start_local
    from mnist_core.jobs import JobQueue
    from mnist_core.limits import Limits
    from mnist_core.store import RunStore

    t0 = time.perf_counter()
    start_local(ray, workers)
    trainer = RayTrainer()
    with tempfile.TemporaryDirectory(prefix="ray-bench-") as folder:
        store = RunStore(folder)
        q = JobQueue(store, max_concurrent=workers, runner=trainer, data_path=data_path, limits=Limits())
        warm = [q.submit(configs[0].replace(epochs=1, train_examples=700, seed=s)) for s in range(workers)]
        for j in warm:
            q.wait(j.run_id)
        cold = time.perf_counter() - t0
        seen, outside = 0, []
        t1 = time.perf_counter()
        jobs = [q.submit(c) for c in configs]
        for j in jobs:
            while q.wait(j.run_id, timeout=2).state != "done":
                n, out = _connections()
                seen, outside = max(seen, n), outside + out
        wall = time.perf_counter() - t1
        q.close()
        statuses = [j.status for j in jobs]
    ray.shutdown()
    return {"workers": workers, "cold": cold, "wall": wall, "finished": statuses.count("finished"),
            "runs": len(jobs), "connections": seen, "outside": outside}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--epochs", type=int, default=1)
    p.add_argument("--examples", type=int, default=10000)
    p.add_argument("--data", default=None)
    args = p.parse_args()
    if os.environ.get("MNIST_BENCH_NETNS") != "1":
        sys.exit(_in_namespace(sys.argv[1:]))
    if args.data:
        os.environ["MNIST_DATA"] = args.data  # the local workers inherit it

    from mnist_core import sweep

    configs = [c.replace(train_examples=args.examples) for c in sweep.notebook(args.epochs)]
    print(f"notebook grid: {len(configs)} runs, {args.epochs} epoch(s) on {args.examples:,} images each; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start", flush=True)
    results = []
    for workers in (1, 2):
        r = _grid(workers, configs, args.data)
        results.append(r)
        print(f"  {workers} worker(s): grid {r['wall']:.1f} s, cold start {r['cold']:.1f} s, "
              f"{r['finished']}/{r['runs']} finished", flush=True)
    one, two = results
    print()
    print("| Ray workers | grid wall s | runs / min | cold start s | finished |")
    print("| ---: | ---: | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['workers']} | {r['wall']:.1f} | {60 * r['runs'] / r['wall']:.1f} | {r['cold']:.1f} | "
              f"{r['finished']}/{r['runs']} |")
    print(f"\nthroughput, 2 workers / 1 worker: {one['wall'] / two['wall']:.2f}x "
          f"(load average {os.getloadavg()[0]:.1f} at the end)")
    outside = one["outside"] + two["outside"]
    print(f"connections checked with ss: up to {max(one['connections'], two['connections'])} open at once, "
          f"{len(outside)} not on 127.0.0.1" + (f": {outside[:3]}" if outside else ""))
    sys.exit(1 if outside else 0)


if __name__ == "__main__":
    main()
