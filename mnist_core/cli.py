"""Command line: ``python -m mnist_core {train,runs,evaluate,lr-find,sweep,download} ...``.

Every RunConfig field is a flag of ``train``, generated from ``config.FIELDS`` with its bounds; a bad
value, or a dataset that is missing or malformed, exits with status 2 and one line saying what is wrong,
before any run is created. Ctrl-C stops a training after its current step: the run is stored
``stopped`` with its finished epochs and model, and the command exits with 130 (SIGTERM: 143).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time

from . import curves, fields, logs
from .config import FIELD_BY_NAME, FIELDS, ConfigError, RunConfig
from .data import DISPLAY_NAMES, DataError
from .fields import Field
from .store import RunStore, StoreError, now_iso


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line, not a usage dump
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _field_type(f):
    def parse(text: str):
        try:
            return fields.coerce(f, fields.parse(f, text))
        except ConfigError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    parse.__name__ = f.kind  # argparse names the type in its message
    return parse


ALIASES = {"learning_rate": ["--lr"]}


def flag_help(f: Field) -> str:
    """A flag's help, from the field table: its text, its bounds (when it has some) and its default."""
    default = ("on" if f.default else "off") if f.kind == "bool" else fields.format_value(f, f.default)
    if f.kind == "layers":
        extra = f"Units per layer: {fields.bounds(f)}; default: {default}."
    elif f.lo is not None and f.hi is not None:
        extra = f"Range: {fields.bounds(f)}; default: {default}."
    else:
        extra = f"Default: {default}."
    return f"{f.help} {extra}".replace("%", "%%")  # argparse formats help with %


def _add_config_flags(p: argparse.ArgumentParser) -> None:
    for f in FIELDS:
        flags = ["--" + f.name.replace("_", "-"), *ALIASES.get(f.name, [])]
        if f.kind == "bool":
            p.add_argument(*flags, action=argparse.BooleanOptionalAction, default=None, help=flag_help(f))
        elif f.kind == "choice":
            p.add_argument(*flags, choices=f.choices, default=None, help=flag_help(f))
        else:
            p.add_argument(*flags, dest=f.name, type=_field_type(f), default=None, metavar=f.kind.upper(),
                           help=flag_help(f))


def _config_from_args(args: argparse.Namespace) -> RunConfig:
    values = {f.name: getattr(args, f.name) for f in FIELDS if getattr(args, f.name) is not None}
    return RunConfig(**values)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m mnist_core",
                description="Train and inspect small MLPs on MNIST; runs are stored in cached_runs/.")
    p.add_argument("--runs-dir", help="folder for your runs (default: $MNIST_RUNS_DIR or cached_runs/user)")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    t = sub.add_parser("train", help="train one run and store it",
                       description="Train one run, printing a line per epoch, and store it.")
    _add_config_flags(t)
    t.add_argument("--data", help="MNIST .npz file or IDX folder (default: $MNIST_DATA, then the Keras cache)")
    t.add_argument("--name", help="a display name for the run")
    t.add_argument("--tags", help="comma-separated tags")
    t.add_argument("--json", action="store_true", help="print the stored run record as JSON at the end")
    t.add_argument("--repeat", type=int, default=1, choices=range(1, 11), metavar="N",
                   help="train N runs with seeds seed, seed+1, ... as one group (1-10, default 1)")

    r = sub.add_parser("runs", help="list stored runs", description="List stored runs, newest first.")
    r.add_argument("--json", action="store_true", help="print the records as JSON")

    w = sub.add_parser("sweep", help="train a preset grid of runs, skipping settings already stored",
                       description="Train a preset grid of runs one after the other. Settings already "
                                   "finished in the store are skipped, so an interrupted sweep resumes.")
    w.add_argument("--preset", choices=["notebook", "regularisation", "tuning", "tuned"], default="notebook",
                   help="notebook: the study notebook's grid (default); regularisation: the initialiser, "
                        "dropout, L1/L2, max-norm, clipping, each schedule and early stopping, one at a time, "
                        "with a 5,000-image validation split; tuning: every optimizer at 5 learning rates "
                        "for 20 epochs, judged on a 5,000-image validation split; tuned: each optimizer at "
                        "the rate its tuning runs chose (run tuning first)")
    w.add_argument("--epochs", type=_field_type(FIELD_BY_NAME["epochs"]), default=None, metavar="INT",
                   help=f"epochs per run, {fields.bounds(FIELD_BY_NAME['epochs'])} (default: the preset's, "
                        f"20 for tuning, 60 for the others)")
    w.add_argument("--seeds", type=int, default=1, choices=range(1, 11), metavar="N",
                   help="train every setting with seeds 42, 43, ... as one seed group per setting (1-10, "
                        f"default 1; nets over {1_000_000:,} weights get at most 3)")
    w.add_argument("--data", help="dataset location, as for train")
    w.add_argument("--no-model", action="store_true", help="do not save model.keras files (reference runs)")
    w.add_argument("--tag", action="append", default=[], help="tag every run (repeatable)")
    w.add_argument("--backend", choices=["local", "ray"], default="local",
                   help="local: one run after the other here (default); ray: the runs as Ray tasks in "
                        "parallel, one per CPU slot, on the cluster at $RAY_ADDRESS or on a local Ray "
                        "instance of $MNIST_RAY_CPUS CPUs (needs the cluster extra); runs are stored here")

    d = sub.add_parser("download", help="fetch a dataset with Keras (needs internet)",
                       description="Find a dataset locally, or download it with Keras into ~/.keras/datasets.")
    d.add_argument("--dataset", choices=DISPLAY_NAMES, default="mnist")

    f = sub.add_parser("lr-find", help="learning-rate range test for the given settings",
                       description="Take a few hundred steps from fresh weights while the learning rate "
                                   "grows exponentially; print loss against rate and a suggested rate.")
    _add_config_flags(f)
    f.add_argument("--data", help="dataset location, as for train")
    f.add_argument("--steps", type=int, default=300, choices=range(20, 2001), metavar="STEPS",
                   help="steps in the test (20-2000, default 300)")

    e = sub.add_parser("evaluate", help="evaluate a stored model on the test set",
                       description="Load a run's model.keras (safe mode) and evaluate it on the test set.")
    e.add_argument("run_id")
    e.add_argument("--data", help="dataset location, as for train")
    return p


def main(argv: list[str] | None = None) -> int:
    logs.setup(cli=True)
    try:
        args = build_parser().parse_args(argv)
        store = RunStore(args.runs_dir)
        return {"train": cmd_train, "runs": cmd_runs, "evaluate": cmd_evaluate,
                "download": cmd_download, "sweep": cmd_sweep, "lr-find": cmd_lr_find}[args.command](args, store)
    except (ConfigError, DataError, StoreError) as e:
        print(f"error: {' '.join(str(e).split())}", file=sys.stderr)  # one line, whatever the message holds
        return 2
    except KeyboardInterrupt:  # Ctrl-C outside a training (loading, lr-find): nothing to keep
        print("interrupted", file=sys.stderr)
        return 130


class _Stopper:
    """While a training runs: Ctrl-C (SIGINT) or SIGTERM asks it to stop after the current step, so
    it is stored ``stopped`` with its finished epochs and model; a second one aborts at once.

    Why a signal handler rather than catching KeyboardInterrupt: the training runs in a thread and
    the main thread waits for it in ``Thread.join``. In Python 3.11 a KeyboardInterrupt raised inside
    ``join`` leaves the thread looking finished while it still runs, so the CLI used to print the run
    as ``running``, exit 1 and kill it before it was stored."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.signum: int | None = None
        self._saved: dict = {}

    def __enter__(self) -> "_Stopper":
        if threading.current_thread() is threading.main_thread():  # only there can handlers be set
            self._saved = {s: signal.signal(s, self._handle) for s in (signal.SIGINT, signal.SIGTERM)}
        return self

    def __exit__(self, *exc) -> None:
        for s, handler in self._saved.items():
            signal.signal(s, handler)

    def _handle(self, signum, _frame) -> None:
        if self.stop.is_set():
            raise KeyboardInterrupt  # the second time: abort (see _run_stoppable)
        self.signum = signum
        self.stop.set()
        print("stopping after the current step (Ctrl-C again to abort)...", file=sys.stderr, flush=True)

    @property
    def exit_code(self) -> int | None:
        """128 + the signal's number, the shell's convention: 130 for Ctrl-C, 143 for SIGTERM."""
        return None if self.signum is None else 128 + self.signum


def _run_stoppable(stopper: _Stopper, store: RunStore, run_id: str, **kwargs):
    """``runner.execute`` for one run in a thread, the main thread waiting and handling the signals."""
    from .runner import execute

    box: dict = {}

    def target() -> None:
        try:
            box["run"] = execute(store=store, run_id=run_id, stop=stopper.stop, **kwargs)
        except BaseException as e:  # noqa: BLE001 - re-raised in the main thread below
            box["error"] = e

    worker = threading.Thread(target=target, daemon=True, name=f"train-{run_id}")
    worker.start()
    try:
        while worker.is_alive():
            worker.join(0.2)
    except KeyboardInterrupt:  # a second Ctrl-C: leave now, saying what becomes of the run
        n = len(store.get(run_id).history)
        store.update(run_id, status="interrupted", ended=now_iso(),
                     reason=f"aborted with a second Ctrl-C after {n} epoch{'s' * (n != 1)}")
        print(f"aborted: run {run_id} is stored as interrupted with {n} epochs, without a model",
              file=sys.stderr, flush=True)
        from .tf_env import remove_private_tempdir

        remove_private_tempdir()  # os._exit skips atexit
        os._exit(130)  # the training thread cannot be stopped mid-step; the process ends with it
    if "error" in box:
        raise box["error"]
    return box["run"]


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x * 100:.2f}%"


def _check_data(config: RunConfig, path: str | None) -> None:
    """Read and check the dataset now (numpy only, kept for the training): a missing, malformed or too
    small one is a DataError, exit 2 and one line, before any run is created."""
    from . import data

    data.load(config.dataset, path).subset(config.train_examples)


def cmd_train(args: argparse.Namespace, store: RunStore) -> int:
    config = _config_from_args(args)
    _check_data(config, args.data)
    store.mark_interrupted()

    def on_event(e: dict) -> None:
        if e["event"] == "setup":
            pca = e["pca"]
            extra = (f", PCA {pca['components']} components keep {_pct(pca['explained_variance'])} "
                     f"(fit {pca['fit_seconds']:.2f} s{', cached' if pca['cached'] else ''})") if pca else ""
            print(f"run {e['run_id']}: {config.label}, {e['param_count']:,} parameters, "
                  f"{e['steps_per_epoch']} steps/epoch, {DISPLAY_NAMES[config.dataset]} from {e['source']}{extra}",
                  flush=True)
        elif e["event"] == "epoch":
            val = f"val loss {e['val_loss']:.4f} acc {_pct(e['val_accuracy'])}  " if "val_loss" in e else ""
            lr = f"lr {e['learning_rate']:.3g}  " if config.schedule != "constant" else ""
            print(f"epoch {e['epoch']:>3}/{config.epochs}  train loss {e['train_loss']:.4f} "
                  f"acc {_pct(e['train_accuracy'])}  {val}test loss {e['test_loss']:.4f} "
                  f"acc {_pct(e['test_accuracy'])}  {lr}{e['train_seconds'] / e['epoch']:.2f} s/epoch  "
                  f"{e['wall_seconds']:.1f} s", flush=True)

    # The name and tags are checked before anything is created, so a bad one costs nothing.
    name = args.name
    tags = args.tags
    if name is not None or tags is not None:
        from .store import clean_name, clean_tags
        name, tags = clean_name(name or ""), clean_tags(tags or [])
    group, configs = config.seed_group(args.repeat, time.strftime("%Y%m%d-%H%M%S"))
    statuses = []
    with _Stopper() as stopper:
        for c in configs:
            run_id = store.create(c, name=name, tags=tags, group=group)
            run = _run_stoppable(stopper, store, run_id, config=c, on_event=on_event, data_path=args.data)
            _report(run, args.json)
            statuses.append(run.status)
            if stopper.exit_code:  # Ctrl-C: the remaining seeds are not started
                return stopper.exit_code
    return 0 if all(s == "finished" for s in statuses) else 1


def _report(run, as_json: bool) -> None:
    d = run.data
    if as_json:
        print(json.dumps(d, indent=1))
    else:
        ms = d.get("milestones", {})
        reached = "  ".join(f"{k}%: epoch {v['epoch']} ({v['train_seconds']:.1f} s)" if v else f"{k}%: not reached"
                            for k, v in ms.items())
        print(f"{run.status}: best test accuracy {_pct(d.get('best_test_accuracy'))}; {reached}")
        if d.get("reason"):
            print(f"reason: {d['reason']}")
        print(f"stored in {run.path}")


def cmd_runs(args: argparse.Namespace, store: RunStore) -> int:
    store.mark_interrupted()
    runs = store.list()  # a folder it cannot read is a warning, logged once (see logs.py)
    if args.json:
        print(json.dumps([r.data for r in runs], indent=1))
        return 0
    rows = [("run id", "name / label", "status", "epochs", "best", "s/epoch", "created")]
    for r in runs:
        d = r.data
        spe = curves.seconds_per_epoch(r.history)
        rows.append((r.run_id + (" (ref)" if r.reference else ""), r.display_name[:40], r.status,
                     str(len(r.history)), _pct(d.get("best_test_accuracy")),
                     "-" if spe is None else f"{spe:.2f}", str(d.get("created", ""))[:19]))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip())
    if not runs:
        print(f"(no runs yet in {store.user_dir}; try: python -m mnist_core train --epochs 3)")
    return 0


def cmd_evaluate(args: argparse.Namespace, store: RunStore) -> int:
    run = store.get(args.run_id)
    if run.model_path is None:
        raise StoreError(f"Run {run.run_id} has no saved model (its status is {run.status}); "
                         f"train a new run to get one.")
    from . import data
    from .evaluate import evaluate_model

    ds = data.load(run.config.dataset, args.data)
    result = evaluate_model(run.model_path, ds)
    print(f"run {run.run_id} ({run.display_name}) on {len(ds.y_test):,} test images of "
          f"{DISPLAY_NAMES[run.config.dataset]}")
    print(f"test accuracy {_pct(result['accuracy'])}  test loss {result['loss']:.4f}  "
          f"(stored at its last epoch: {_pct(run.data.get('final_test_accuracy'))})")
    print("confusion matrix (rows: true digit, columns: predicted)")
    cm = result["confusion"]
    print("     " + "".join(f"{j:>6}" for j in range(10)))
    for i, row in enumerate(cm):
        print(f"{i:>5}" + "".join(f"{v:>6}" for v in row))
    return 0


def cmd_download(args: argparse.Namespace, store: RunStore) -> int:
    from . import data

    ds = data.load(args.dataset)
    print(f"{DISPLAY_NAMES[args.dataset]}: {len(ds.y_train):,} training and {len(ds.y_test):,} test images "
          f"from {ds.source}")
    return 0


def cmd_sweep(args: argparse.Namespace, store: RunStore) -> int:
    from . import sweep

    epochs = sweep.preset_epochs(args.preset, args.epochs)
    todo, done = sweep.plan(args.preset, epochs, store, seeds=args.seeds)
    group = (lambda c: sweep.group_of(args.preset, c)) if args.seeds > 1 else (lambda c: None)
    for c in done:  # runs stored before the sweep had seeds join their group
        for run in store.find_settings(c):
            if run.data.get("group") != group(c) and group(c):
                store.update(run.run_id, group=group(c))
    if args.preset == "tuned" and not todo + done:
        print("sweep tuned: no optimizer has its whole tuning grid in the store yet; run "
              "`sweep --preset tuning` first", file=sys.stderr)
        return 2
    for config in todo:  # read once, cached: later checks are free
        _check_data(config, args.data)
    print(f"sweep {args.preset}: {len(todo) + len(done)} settings, {len(done)} already in {store.user_dir}, "
          f"{len(todo)} to train ({epochs} epochs each)", flush=True)
    store.mark_interrupted()
    if args.backend == "ray":
        with _Stopper() as stopper:
            failed = sweep.on_ray(store, todo, [args.preset, *args.tag], args.data, not args.no_model,
                                  stopper.stop, say=lambda line: print(line, flush=True), group=group)
        if stopper.exit_code:
            print("sweep stopped; run the same command again to resume", flush=True)
            return stopper.exit_code
        return 2 if failed is None else 1 if failed else 0

    failed = 0
    with _Stopper() as stopper:
        for i, config in enumerate(todo, 1):
            # Several sweeps may share one runs folder (two processes on two cores, or machines on a
            # shared disk): a setting another one has finished or is training is left to it.
            if store.find_settings(config, statuses=("finished", "queued", "running")):
                print(f"[{i}/{len(todo)}] {config.label}: done or being trained by another sweep", flush=True)
                continue

            def on_event(e, i=i, config=config):
                if e["event"] == "epoch" and (e["epoch"] % 10 == 0 or e["epoch"] == config.epochs):
                    print(f"  [{i}/{len(todo)}] {config.label}: epoch {e['epoch']}/{config.epochs} "
                          f"test acc {_pct(e['test_accuracy'])}, {e['train_seconds']:.1f} s", flush=True)
            run = _run_stoppable(stopper, store, store.create(config, tags=[args.preset, *args.tag],
                                                               group=group(config)),
                                 config=config, on_event=on_event, data_path=args.data,
                                 save_model=not args.no_model)
            failed += run.status != "finished"
            print(f"[{i}/{len(todo)}] {config.label}: {run.status}, "
                  f"best {_pct(run.data.get('best_test_accuracy'))}", flush=True)
            if stopper.exit_code:
                print("sweep stopped; run the same command again to resume", flush=True)
                return stopper.exit_code
    return 1 if failed else 0


def cmd_lr_find(args: argparse.Namespace, store: RunStore) -> int:
    config = _config_from_args(args)
    from . import data
    from .lr_find import lr_range_test

    result = lr_range_test(config, data.load(config.dataset, args.data), steps=args.steps)
    print(f"learning-rate range test for {config.label}: {len(result['rates'])} steps")
    print(f"{'rate':>10}  {'loss':>8}  {'smoothed':>8}")
    every = max(1, len(result["rates"]) // 25)
    for r, loss, sm in list(zip(result["rates"], result["losses"], result["smoothed"]))[::every]:
        print(f"{r:>10.2e}  {loss:>8.4f}  {sm:>8.4f}")
    if result["suggestion"] is None:
        print("no suggestion: the loss exploded too early; try smaller --steps or a smaller batch")
        return 1
    print(f"suggested learning rate: {result['suggestion']:.3g} (where the smoothed loss falls fastest); "
          f"train with --lr {result['suggestion']:.3g}")
    return 0
