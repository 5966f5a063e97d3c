"""The CLI end to end, in a subprocess, as a user runs it."""

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from mnist_core.cli import _config_from_args, build_parser
from mnist_core.config import FIELDS, RunConfig
from mnist_core.fields import bounds
from mnist_core.store import RunStore
from tests.helpers import fake_arrays


def cli(*args, env=None, check=True):
    proc = subprocess.run([sys.executable, "-m", "mnist_core", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}: {proc.stderr[-2000:]}")
    return proc


@pytest.fixture
def env(tmp_path, mnist_path):
    return {"MNIST_DATA": str(mnist_path), "MNIST_RUNS_DIR": str(tmp_path / "runs")}


def test_train_prints_a_line_per_epoch_and_stores_the_run(env):
    out = cli("train", "--epochs", "2", "--train-examples", "3500", "--hidden", "64", "--lr", "0.1",
              "--name", "cli run", env=env).stdout
    lines = [line for line in out.splitlines() if line.startswith("epoch")]
    assert len(lines) == 2 and lines[0].startswith("epoch   1/2") and "test loss" in lines[1]
    assert out.splitlines()[0].startswith("run ") and "50,890 parameters" in out
    runs = RunStore(env["MNIST_RUNS_DIR"]).list()
    assert len(runs) == 1 and runs[0].status == "finished" and runs[0].display_name == "cli run"
    assert any(p.name.startswith("events.out.tfevents") for p in runs[0].path.iterdir())

    table = cli("runs", env=env).stdout
    assert runs[0].run_id in table and "cli run" in table and "finished" in table

    evaluation = cli("evaluate", runs[0].run_id, env=env).stdout
    assert f"test accuracy {runs[0].data['final_test_accuracy'] * 100:.2f}%" in evaluation
    assert "confusion matrix" in evaluation and len(evaluation.splitlines()) >= 14


def test_json_prints_the_stored_record(env):
    out = cli("train", "--epochs", "1", "--train-examples", "1400", "--hidden", "32", "--json", env=env).stdout
    record = json.loads(out[out.index("{"):])
    assert record["status"] == "finished" and record["config"]["hidden"] == [32]
    assert len(record["history"]) == 1


@pytest.mark.parametrize("args, fragment", [
    (["train", "--epochs", "0"], "epochs must be in [1, 500], not 0"),
    (["train", "--hidden", "300-x"], "is not hidden sizes like 300-100"),
    (["train", "--activation", "swish"], "invalid choice: 'swish'"),
    (["train", "--lr", "-1"], "learning_rate must be in (0, 10]"),
    (["train", "--batch-size", "500", "--train-examples", "100"], "larger than train_examples"),
    (["train", "--data", "/nonexistent/mnist.npz", "--epochs", "1"], "/nonexistent/mnist.npz does not exist"),
    (["train", "--name", "a\nb", "--epochs", "1"], "control characters"),
    (["evaluate", "../../etc"], "is not a run id"),
    (["evaluate", "20260101-000000-none-abcdef"], "There is no run"),
    (["bogus"], "invalid choice"),
    (["train", "--repeat", "50"], "invalid choice: 50"),
    (["lr-find", "--hidden", "0"], "hidden"),
])
def test_bad_input_exits_non_zero_with_one_line(env, args, fragment):
    proc = cli(*args, env=env, check=False)
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.strip() and not _tf_noise(line)]
    assert len(lines) == 1 and fragment in lines[0], proc.stderr
    assert not RunStore(env["MNIST_RUNS_DIR"]).list()  # nothing stored for bad input


def _tf_noise(line):
    return line.startswith(("I0000", "E0000", "W0000", "WARNING: All log messages"))


def test_repeat_trains_one_seed_group(env):
    out = cli("train", "--epochs", "1", "--train-examples", "1400", "--hidden", "32", "--seed", "5",
              "--repeat", "3", env=env).stdout
    runs = RunStore(env["MNIST_RUNS_DIR"]).list()
    assert out.count("finished: best test accuracy") == 3
    assert sorted(r.config.seed for r in runs) == [5, 6, 7]
    groups = {r.data["group"] for r in runs}
    assert len(groups) == 1 and None not in groups


def test_lr_find_prints_the_curve_and_a_usable_rate(env):
    out = cli("lr-find", "--train-examples", "2000", "--hidden", "32", "--steps", "120", env=env).stdout
    rows = [line.split() for line in out.splitlines() if line.strip()[:1].isdigit()]
    rates = [float(r[0]) for r in rows]
    assert len(rows) >= 10 and rates == sorted(rates) and rates[0] < 1e-4
    suggestion = float(out.split("suggested learning rate: ")[1].split()[0])
    assert 1e-4 < suggestion < 10  # somewhere between "barely moves" and "explodes"
    # The printed advice ("train with --lr X") is accepted by train's own flag parser and means the
    # suggested rate.
    advice = out.split("train with ")[1].split()
    args = build_parser().parse_args(["train", *advice])
    assert _config_from_args(args).learning_rate == pytest.approx(suggestion, rel=1e-9)
    assert not RunStore(env["MNIST_RUNS_DIR"]).list()  # a range test stores no run


@pytest.mark.parametrize("command", [[], ["train"], ["runs"], ["evaluate"], ["lr-find"], ["sweep"]])
def test_help_everywhere(command, env):
    out = cli(*command, "--help", env=env).stdout
    assert "usage:" in out
    if command == ["train"]:
        for flag in ("--hidden", "--activation", "--batch-norm", "--pca", "--pca-variance", "--optimizer",
                     "--learning-rate", "--batch-size", "--epochs", "--seed", "--train-examples", "--dataset"):
            assert flag in out


def test_train_help_shows_every_bound_of_the_field_table(env):
    # Generated from config.FIELDS, so a field added later shows its bounds too; integers as integers.
    out = " ".join(cli("train", "--help", env=env).stdout.split())
    bounded = [f for f in FIELDS if f.lo is not None and f.hi is not None]
    assert len(bounded) >= 6
    for f in bounded:
        assert f"--{f.name.replace('_', '-')}" in out and bounds(f) in out, f.name
    assert "[0, 2147483647]" in out and "e+09" not in out


@pytest.mark.parametrize("arrays, fragment", [
    ({**fake_arrays(), "x_train": fake_arrays()["x_train"].astype(np.float64)}, "dtype float64"),
    ({**fake_arrays(), "y_test": np.full(30, 12, np.uint8)}, "labels from 12 to 12"),
    (fake_arrays(n_train=120), "only 120 training examples"),  # fewer than --train-examples asks
])
def test_bad_data_exits_2_with_one_line_before_any_run_exists(env, tmp_path, arrays, fragment):
    bad = tmp_path / "bad.npz"
    np.savez(bad, **arrays)
    proc = cli("train", "--epochs", "1", "--train-examples", "1000", "--batch-size", "10", "--data", str(bad),
               env=env, check=False)
    lines = [line for line in proc.stderr.splitlines() if line.strip()]
    assert proc.returncode == 2 and len(lines) == 1 and fragment in lines[0], proc.stderr
    assert str(bad) in lines[0] and not proc.stdout
    runs_dir = tmp_path / "runs"
    assert not runs_dir.exists() or not any(runs_dir.iterdir())  # no run folder, not even a failed one


def test_ctrl_c_stops_the_run_keeps_its_epochs_and_model_and_exits_130(env, tmp_path):
    # A real process and a real SIGINT, as a terminal sends it. Issue 10: the run stayed `running`,
    # the CLI exited 1 and no model was saved (3 of 3 tries).
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    proc = subprocess.Popen([sys.executable, "-m", "mnist_core", "train", "--epochs", "500", "--train-examples",
                             "2100", "--hidden", "32", "--lr", "0.1"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **env, "TMPDIR": str(tmp)})
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("epoch   2/"):
            proc.send_signal(signal.SIGINT)
            break
    out, err = proc.communicate(timeout=120)
    lines += out.splitlines()
    assert proc.returncode == 130, err
    assert "stopping after the current step" in err and "Traceback" not in err
    (run,) = RunStore(env["MNIST_RUNS_DIR"]).list()
    epochs = [line for line in lines if line.startswith("epoch ")]
    assert run.status == "stopped" and len(run.history) == len(epochs) >= 2 and len(run.history) < 500
    assert run.model_path is not None and run.model_path.stat().st_size > 10_000
    assert any(line.startswith("stopped: best test accuracy") for line in lines)
    # TensorFlow's autograph wrote its generated files into a folder of the process's own, removed at
    # exit: the temp folder is left as it was (it used to keep __autograph_generated_file*.py).
    assert list(tmp.iterdir()) == []


def test_runs_says_each_skipped_folder_once_and_shows_the_cores_info(env):
    runs_dir = RunStore(env["MNIST_RUNS_DIR"]).user_dir
    (runs_dir / "not-a-run").mkdir(parents=True)
    store = RunStore(runs_dir)
    left = store.create(RunConfig(epochs=3))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    store.update(left, status="running", owner={"pid": int(gone.stdout), "host": os.uname().nodename, "start": "0"})
    proc = cli("runs", env=env)
    assert proc.stderr.count("Skipped") == 1 and "warning: Skipped" in proc.stderr  # was printed 3 times
    assert f"info: Run {left} was left running" in proc.stderr  # info messages reach the terminal
    assert "interrupted" in proc.stdout


def test_an_unsupported_python_is_refused_with_one_sentence(env):
    code = ("import sys; sys.version_info = (3, 9, 2, 'final', 0); import runpy; "
            "runpy.run_module('mnist_core', run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code, "runs"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1
    assert "needs Python 3.11 to 3.13, and this is Python 3.9.2" in lines[0]


def test_the_package_declares_the_python_versions_the_code_checks():
    import tomllib
    from pathlib import Path

    import mnist_core

    project = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())["project"]
    lo, hi = mnist_core.PYTHON_MIN, mnist_core.PYTHON_MAX
    assert project["requires-python"] == f">={lo[0]}.{lo[1]},<{hi[0]}.{hi[1] + 1}"
