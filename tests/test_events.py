"""The event files a run writes are read by TensorBoard's own reader."""

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
