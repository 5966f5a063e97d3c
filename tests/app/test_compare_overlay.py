"""The Compare overlay's controls with AppTest: what the chart plots after each choice (y axis,
smoothing, log scale) and what the CSV download holds."""

import io
import json

import pandas as pd
import pyarrow as pa
import pytest
from streamlit.runtime import memory_media_file_storage as media

from mnist_core.config import RunConfig
from tests.app.conftest import open_page
from tests.helpers import stored_run


@pytest.fixture
def downloads(monkeypatch):
    """The bytes behind each download button, by file id (AppTest keeps them in a mock media store)."""
    saved = {}
    original = media.MemoryMediaFileStorage.load_and_get_id

    def keep(self, path_or_data, mimetype, kind, filename=None):
        file_id = original(self, path_or_data, mimetype, kind, filename)
        saved[file_id] = path_or_data
        return file_id
    monkeypatch.setattr(media.MemoryMediaFileStorage, "load_and_get_id", keep)
    return saved


def _chart(at):
    """The overlay's Vega-Lite spec and the data it plots."""
    proto = at.get("vega_lite_chart")[0].proto
    spec = json.loads(proto.spec)
    data = pa.ipc.open_stream(proto.datasets[0].data.data).read_all().to_pandas()
    return spec, data


def _series(data, run_id, column):
    return data[data["run_id"] == run_id].sort_values("epoch")[column].tolist()


def test_y_axis_smoothing_log_scale_and_csv(queue, downloads):
    zigzag = stored_run(queue.store, RunConfig(epochs=4), [0.5, 0.9, 0.5, 0.9], name="zigzag")
    flat = stored_run(queue.store, RunConfig(epochs=4, seed=1), [0.8, 0.8, 0.8, 0.8], name="flat")
    at = open_page("compare", runs=f"{zigzag.run_id},{flat.run_id}")
    assert not at.exception
    spec, data = _chart(at)
    assert spec["encoding"]["y"]["field"] == "test_accuracy" and spec["encoding"]["x"]["field"] == "epoch"
    assert _series(data, zigzag.run_id, "test_accuracy") == pytest.approx([0.5, 0.9, 0.5, 0.9])

    at.selectbox(key="y_axis").set_value("test_loss").run()
    spec, data = _chart(at)
    assert spec["encoding"]["y"]["field"] == "test_loss" and spec["encoding"]["y"]["title"] == "Test loss"
    raw_loss = [0.7, 0.3, 0.7, 0.3]  # stored_run's test loss is 1.2 - accuracy
    assert _series(data, zigzag.run_id, "test_loss") == pytest.approx(raw_loss)

    at.slider(key="smoothing").set_value(0.5).run()
    _, data = _chart(at)
    # TensorBoard's debiased moving average with weight 0.5, by hand: the zigzag is pulled towards its
    # middle, a flat line stays where it is.
    ema, expected = 0.0, []
    for n, v in enumerate(raw_loss, 1):
        ema = 0.5 * ema + 0.5 * v
        expected.append(ema / (1 - 0.5 ** n))
    assert _series(data, zigzag.run_id, "test_loss") == pytest.approx(expected)
    assert _series(data, flat.run_id, "test_loss") == pytest.approx([0.4] * 4)

    at.toggle(key="log_y").set_value(True).run()
    spec, _ = _chart(at)
    assert spec["encoding"]["y"]["scale"]["type"] == "log"
    assert not at.exception

    # The CSV: every epoch of both runs, unsmoothed whatever the chart shows, with their settings.
    url = at.get("download_button")[0].proto.url
    content = next(v for k, v in downloads.items() if k in url)
    csv = pd.read_csv(io.StringIO(content.decode() if isinstance(content, bytes) else content))
    assert sorted(csv["run_id"].unique()) == sorted([zigzag.run_id, flat.run_id])
    assert csv[csv.run_id == zigzag.run_id].sort_values("epoch")["test_loss"].tolist() == pytest.approx(raw_loss)
    assert set(csv["seed"]) == {42, 1} and set(csv["label"]) == {"zigzag", "flat"}
