"""Turning finished runs into the reference runs shipped with the project.

A run as trained keeps everything: its model, snapshots of the network at a dozen epochs and their
histograms and weight pictures in the TensorBoard events (several MB). The references ship the curves
and the story (run.json, and events with the scalars, hparams, settings, status and confusion matrix),
so a hundred seed runs fit in a few MB; one run (the notebook's default) also keeps its model and
snapshots, so Try a model and Run details work on a fresh clone.

    python -m mnist_core.references SOURCE_RUNS_DIR DEST [--keep-all RUN_ID ...]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

DROPPED_PLUGINS = {"histograms"}  # per-layer histograms at the snapshot epochs
DROPPED_TAGS = ("weights/",)  # the first layer's weight grid at the snapshot epochs


def slim_events(source: Path, dest: Path) -> tuple[int, int]:
    """Copy a TensorBoard events file without its histograms and weight pictures; (kept, dropped) values."""
    from .tf_env import tf

    from tensorboard.compat.proto import event_pb2

    kept = dropped = 0
    with tf.io.TFRecordWriter(str(dest)) as writer:
        for record in tf.data.TFRecordDataset(str(source)):
            event = event_pb2.Event.FromString(record.numpy())
            if event.HasField("summary"):
                values = [v for v in event.summary.value
                          if v.metadata.plugin_data.plugin_name not in DROPPED_PLUGINS
                          and not v.tag.startswith(DROPPED_TAGS)]
                dropped += len(event.summary.value) - len(values)
                kept += len(values)
                if not values:
                    continue
                del event.summary.value[:]
                event.summary.value.extend(values)
            writer.write(event.SerializeToString())
    return kept, dropped


def ship(run_dir: Path, dest_root: Path, keep_all: bool = False) -> Path:
    """Copy one run into ``dest_root``: run.json and slimmed events; with ``keep_all`` also its model and
    snapshots (the snapshots hold the network's pictures, so the events need not)."""
    dest = dest_root / run_dir.name
    if keep_all:
        shutil.copytree(run_dir, dest, ignore=shutil.ignore_patterns(".lock", "events.out.tfevents.*"),
                        dirs_exist_ok=True)
    else:
        dest.mkdir(parents=True, exist_ok=True)
        shutil.copy2(run_dir / "run.json", dest / "run.json")
    for events in run_dir.glob("events.out.tfevents.*"):
        slim_events(events, dest / events.name)
    return dest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("source", type=Path)
    p.add_argument("dest", type=Path)
    p.add_argument("--keep-all", nargs="*", default=[], help="run ids shipped whole (model, snapshots)")
    args = p.parse_args(argv)
    import json

    for run_dir in sorted(d for d in args.source.iterdir() if (d / "run.json").is_file()):
        status = json.loads((run_dir / "run.json").read_text()).get("status")
        if status != "finished":
            print(f"skipped {run_dir.name}: {status}")
            continue
        ship(run_dir, args.dest, keep_all=run_dir.name in args.keep_all)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
