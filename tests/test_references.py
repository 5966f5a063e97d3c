"""Shipping runs as references: the curves and the story stay, the megabytes of pictures go."""

import json

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

from mnist_core import references
from mnist_core.config import RunConfig
from mnist_core.runner import execute
from mnist_core.store import RunStore


def _tags(folder):
    acc = EventAccumulator(str(folder), size_guidance={"tensors": 0, "images": 0}).Reload()
    return acc.Tags(), acc


def test_a_shipped_run_keeps_scalars_hparams_and_status_but_not_histograms(tmp_path, small_mnist, monkeypatch):
    monkeypatch.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
    store = RunStore(tmp_path / "runs", reference_dir=False)
    run = execute(RunConfig(train_examples=2100, epochs=3, learning_rate=0.1), store)
    stopped = execute(RunConfig(train_examples=2100, epochs=1, learning_rate=0.1, seed=1), store)
    store.update(stopped.run_id, status="stopped")

    assert references.main([str(tmp_path / "runs"), str(tmp_path / "ref")]) == 0
    shipped = tmp_path / "ref" / run.run_id
    assert not (tmp_path / "ref" / stopped.run_id).exists()  # only finished runs become references
    assert sorted(p.name for p in shipped.iterdir() if not p.name.startswith("events")) == ["run.json"]
    before, _ = _tags(run.path)
    after, acc = _tags(shipped)
    pictures = [t for t in before["tensors"] if t.startswith(("weights/", "biases/", "activations/", "gradients/"))]
    assert "weights/first_layer" in pictures and "gradients/hidden_1" in pictures
    assert not set(pictures) & set(after["tensors"])
    for tag in ("accuracy/test", "loss/train", "_hparams_/session_start_info", "_hparams_/session_end_info",
                "run/settings", "run/status", "analysis/confusion_matrix"):
        assert tag in after["tensors"], tag
    assert [e.step for e in acc.Tensors("accuracy/test")] == [1, 2, 3]
    assert json.loads((shipped / "run.json").read_text()) == json.loads((run.path / "run.json").read_text())
    size = lambda folder: sum(p.stat().st_size for p in folder.glob("events*"))  # noqa: E731
    assert size(shipped) < size(run.path) / 5

    RunStore(tmp_path / "user", tmp_path / "ref").get(run.run_id)  # the store reads it as a reference


def test_keep_all_ships_the_model_and_snapshots(tmp_path, small_mnist, monkeypatch):
    monkeypatch.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
    store = RunStore(tmp_path / "runs", reference_dir=False)
    run = execute(RunConfig(train_examples=2100, epochs=2, learning_rate=0.1), store)
    references.main([str(tmp_path / "runs"), str(tmp_path / "ref"), "--keep-all", run.run_id])
    shipped = tmp_path / "ref" / run.run_id
    assert (shipped / "model.keras").is_file() and list((shipped / "snapshots").glob("*.npz"))
    assert not (shipped / ".lock").exists()
    tags, _ = _tags(shipped)
    assert "accuracy/test" in tags["tensors"] and "weights/first_layer" not in tags["tensors"]  # slim events
