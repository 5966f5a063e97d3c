"""The study's time claims, measured the way the benches measure: every setting in one process, one
after the other, on one machine, so their ratios are fair.

A run's seconds depend on the machine and on what else it was doing, never on the seed; seed groups
trained over hours on a shared machine mix quiet and busy epochs. So the Study's time claims read a
timing file: for each setting of the notebook grid, the fastest of a few full-data epochs, measured
round by round (every setting once, then again) so a slow spell touches all of them alike.

    python -m mnist_core.timing [--epochs 3] [--runs-dir DIR]   # writes DIR/timing.json

The shipped one is beside the reference runs; one written into your runs folder (this server's)
replaces it, and the Study then says which machine its times come from.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from .config import RunConfig

FILE = "timing.json"


def key(config: RunConfig) -> str:
    """Settings without seed and epochs: what time per epoch depends on."""
    return config.replace(seed=RunConfig().seed, epochs=1).config_hash


def measure(cells: list[RunConfig], epochs: int = 3, rounds: int = 2, data_path: str | None = None,
            log=print, dataset=None) -> dict:
    """Seconds per epoch of each cell: its fastest epoch over ``rounds`` short runs of ``epochs`` epochs."""
    from . import data
    from .store import environment
    from .train import train

    ds = dataset or data.load("mnist", data_path)
    best: dict[str, float] = {}
    labels: dict[str, str] = {}
    for r in range(rounds):
        for c in cells:
            history = train(c.replace(epochs=epochs), dataset=ds).history
            times = [h["train_seconds"] for h in history]
            fastest = min(b - a for a, b in zip([0.0, *times], times))
            k = key(c)
            best[k], labels[k] = min(fastest, best.get(k, fastest)), c.label
            log(f"round {r + 1}/{rounds}  {c.label}: {fastest:.3f} s per epoch")
    return {"created": time.strftime("%Y-%m-%dT%H:%M:%S"), "environment": environment(), "epochs": epochs,
            "rounds": rounds, "seconds_per_epoch": best, "labels": labels}


def read(folder: Path | None) -> dict | None:
    """A timing file, checked: {key: seconds} with positive finite numbers, or None."""
    if folder is None:
        return None
    try:
        data = json.loads((Path(folder) / FILE).read_text())
        spe = data["seconds_per_epoch"]
        if not isinstance(spe, dict) or not all(isinstance(k, str) and isinstance(v, (int, float)) and 0 < v < 1e6
                                                for k, v in spe.items()):
            return None
        env = data.get("environment") if isinstance(data.get("environment"), dict) else {}
        return {"seconds_per_epoch": spe, "environment": env, "created": str(data.get("created", ""))[:19]}
    except (OSError, ValueError, KeyError, TypeError):
        return None


def main(argv: list[str] | None = None) -> int:
    from . import logs, sweep
    from .store import RunStore

    logs.setup(cli=True)
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--runs-dir", help="where to write timing.json (default: your runs folder)")
    p.add_argument("--epochs", type=int, default=3, choices=range(2, 11), metavar="N")
    p.add_argument("--rounds", type=int, default=2, choices=range(1, 6), metavar="N")
    p.add_argument("--data", help="dataset location, as for train")
    args = p.parse_args(argv)
    folder = RunStore(args.runs_dir).user_dir
    folder.mkdir(parents=True, exist_ok=True)
    result = measure(sweep.notebook(args.epochs), args.epochs, args.rounds, args.data)
    (folder / FILE).write_text(json.dumps(result, indent=1))
    print(f"wrote {folder / FILE}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
