"""The event files a run writes are read by TensorBoard's own reader."""

import numpy as np
from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.plugins.hparams import plugin_data_pb2
from tensorboard.util import tensor_util

from mnist_core.config import RunConfig
from mnist_core.runner import execute
from mnist_core.store import RunStore


def test_tensorboard_reads_scalars_and_hparams(tmp_path, small_mnist, monkeypatch):
    monkeypatch.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
    store = RunStore(tmp_path / "runs")
    config = RunConfig(train_examples=2100, epochs=3, learning_rate=0.1, batch_norm=True)
    run = execute(config, store)
    acc = EventAccumulator(str(run.path)).Reload()
    tags = acc.Tags()["tensors"]
    for tag in ("accuracy/test", "accuracy/train", "loss/test", "loss/train"):
        assert tag in tags
    events = acc.Tensors("accuracy/test")
    assert [e.step for e in events] == [1, 2, 3]
    stored = [h["test_accuracy"] for h in run.history]
    assert [round(float(tensor_util.make_ndarray(e.tensor_proto)), 5) for e in events] == [round(v, 5) for v in stored]

    content = acc.PluginTagToContent("hparams")
    start = plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_start_info"])
    hp = start.session_start_info.hparams
    assert start.session_start_info.group_name == run.run_id  # the unique trial id
    assert hp["hidden"].string_value == "300-100" and hp["batch_norm"].bool_value is True
    assert hp["learning_rate"].number_value == 0.1

    # Snapshot epochs (all three here) give the Histograms and Images tabs something to show.
    for tag in ("weights/hidden_1", "biases/output", "activations/hidden_2", "gradients/hidden_1"):
        assert acc.SummaryMetadata(tag).plugin_data.plugin_name == "histograms"
        buckets = [tensor_util.make_ndarray(e.tensor_proto) for e in acc.Tensors(tag)]
        assert [e.step for e in acc.Tensors(tag)] == [1, 2, 3]
        assert buckets[0].shape == (40, 3) and buckets[0][:, 2].sum() > 0
    image = acc.Tensors("weights/first_layer")
    assert acc.SummaryMetadata("weights/first_layer").plugin_data.plugin_name == "images"
    width, height = (int(v) for v in tensor_util.make_ndarray(image[-1].tensor_proto)[:2])
    assert (width, height) == (18 * 29 + 1, 17 * 29 + 1)  # 300 units of 28x28 in an 18-wide grid

def _session_end(acc):
    content = acc.PluginTagToContent("hparams")
    return plugin_data_pb2.HParamsPluginData.FromString(content["_hparams_/session_end_info"]).session_end_info


def _text(acc, tag):
    return tensor_util.make_ndarray(acc.Tensors(tag)[-1].tensor_proto).item().decode()


def test_tensorboard_shows_how_a_finished_run_ended_its_settings_and_confusion_matrix(tmp_path, small_mnist,
                                                                                       monkeypatch):
    import io
    import time

    from PIL import Image
    from tensorboard.plugins.hparams import api_pb2

    monkeypatch.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
    before = time.time()
    run = execute(RunConfig(train_examples=2100, epochs=2, learning_rate=0.1, hidden=(32,)), RunStore(tmp_path))
    acc = EventAccumulator(str(run.path), size_guidance={"tensors": 0, "images": 0}).Reload()

    end = _session_end(acc)
    assert end.status == api_pb2.STATUS_SUCCESS and before < end.end_time_secs <= time.time()
    start = plugin_data_pb2.HParamsPluginData.FromString(
        acc.PluginTagToContent("hparams")["_hparams_/session_start_info"]).session_start_info
    assert end.end_time_secs > start.start_time_secs

    settings = _text(acc, "run/settings")
    assert "| Hidden layers | 32 |" in settings and "| Learning rate | 0.1 |" in settings
    assert _text(acc, "run/status") == "**finished**"

    image = acc.Tensors("analysis/confusion_matrix")[-1]
    width, height, png = tensor_util.make_ndarray(image.tensor_proto)[:3]
    picture = Image.open(io.BytesIO(png))
    assert picture.size == (int(width), int(height)) and picture.size[0] > 300
    # The diagonal (mostly right answers) is darker than the off-diagonal cells.
    pixels = np.asarray(picture.convert("L"), dtype=float)
    cell, top = 30, 60
    diagonal = np.mean([pixels[top + i * cell + 3, cell + i * cell + 3] for i in range(10)])
    off = np.mean([pixels[top + i * cell + 3, cell + ((i + 5) % 10) * cell + 3] for i in range(10)])
    assert diagonal < off - 80


def test_stopped_diverged_and_failed_runs_are_told_apart(tmp_path, small_mnist, monkeypatch):
    import threading

    from tensorboard.plugins.hparams import api_pb2

    from mnist_core.data import DataError

    monkeypatch.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
    store = RunStore(tmp_path)
    stop = threading.Event()
    stopped = execute(RunConfig(train_examples=2100, epochs=50, hidden=(32,)), store, stop=stop,
                      on_event=lambda e: e["event"] == "epoch" and stop.set())
    diverged = execute(RunConfig(train_examples=2100, epochs=3, learning_rate=10.0, optimizer="momentum",
                                 hidden=(300, 300, 300)), store)

    def missing(*a, **k):
        raise DataError("MNIST is not at /nowhere: set MNIST_DATA.")
    monkeypatch.setattr("mnist_core.data.load", missing)
    failed = execute(RunConfig(epochs=1), store)
    assert (stopped.status, diverged.status, failed.status) == ("stopped", "diverged", "failed")

    seen = {}
    for run in (stopped, diverged, failed):
        acc = EventAccumulator(str(run.path), size_guidance={"tensors": 0}).Reload()
        seen[run.status] = (_session_end(acc).status, _text(acc, "run/status"), _session_end(acc).end_time_secs)
    assert seen["stopped"][0] == api_pb2.STATUS_SUCCESS and seen["stopped"][1].startswith("**stopped**: stopped")
    assert seen["diverged"][0] == api_pb2.STATUS_FAILURE and seen["diverged"][1].startswith("**diverged**: ")
    assert seen["failed"][0] == api_pb2.STATUS_FAILURE
    assert seen["failed"][1] == "**failed**: MNIST is not at /nowhere: set MNIST_DATA."
    assert all(end_time > 0 for _, _, end_time in seen.values())
