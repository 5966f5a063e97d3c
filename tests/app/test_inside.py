"""Run details, inside the network: one epoch slider over a real run's snapshots; runs without them say why."""

import shutil

import numpy as np
import pytest

from mnist_core import snapshots
from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.app.conftest import open_page, shown
from tests.helpers import stored_run


@pytest.fixture(scope="module")
def trained(small_mnist, tmp_path_factory):
    """A real 3-epoch run on 2,100 MNIST images (snapshots at 1, 2, 3), copied into each test's store."""
    from mnist_core.runner import execute

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
        store = RunStore(tmp_path_factory.mktemp("trained"), reference_dir=False)
        return execute(RunConfig(train_examples=2100, epochs=3, learning_rate=0.1), store, save_model=False)


def _copy(trained, store) -> str:
    shutil.copytree(trained.path, store.user_dir / trained.run_id)
    return trained.run_id


def test_the_epoch_slider_redraws_everything_at_that_epoch(queue, trained, mnist):
    run_id = _copy(trained, queue.store)
    at = open_page("details", run=run_id)
    assert not at.exception
    slider = at.select_slider(key="inside_epoch")
    assert slider.options == ["1", "2", "3"] and slider.value == 3
    headers = [h.value for h in at.subheader]
    assert "Where it goes wrong at epoch 3" in headers and "The hidden space at epoch 3" in headers
    wrong = {e: len(snapshots.load(trained.path, e)["wrong_ids"]) for e in (1, 3)}
    assert any(f"{wrong[3]:,} of 2,000" in m.value for m in at.markdown)

    at.select_slider(key="inside_epoch").set_value(1).run()
    assert not at.exception
    assert "Where it goes wrong at epoch 1" in [h.value for h in at.subheader]
    assert any(f"{wrong[1]:,} of 2,000" in m.value for m in at.markdown)
    # The gallery shows the epoch's own mistakes, most confident first.
    first = snapshots.load(trained.path, 1)
    i, proba = int(first["wrong_ids"][0]), first["wrong_proba"][0].astype(float)
    true, said = int(mnist.y_test[i]), int(proba.argmax())
    assert at.image[0].captions[0] == f"{true} → {said} ({proba[said]:.1%}); {true}: {proba[true]:.1%}"

    at.segmented_control(key="inside_kind").set_value("gradients").run()
    assert not at.exception


def test_the_other_epochs_charts_are_built_ahead_and_shared(queue, trained):
    """Opening the run at its last epoch builds every other epoch's charts in the background, so the
    slider's first move to them (and every session's) draws kept specs, the same as a fresh build."""
    from ui import inside

    run_id = _copy(trained, queue.store)
    path = str(queue.store.get(run_id).path)
    open_page("details", run=run_id)
    inside._AHEAD.submit(lambda: None).result(timeout=120)  # the background builds are done
    kept = {key: spec for (key, ident), spec in inside._SPECS.items() if ident[0] == path and ident[2] == 1}
    assert {"inside_confusion", "inside_per_class", "inside_units", "inside_hidden", "inside_hist_0"} <= set(kept)
    run = queue.store.get(run_id)
    files = (path, inside._stamp(run))
    fresh = {k: inside._spec(inside._builders(files, inside.load(run)[0], 1, None, None,
                                              "strongest first (weight norm)", "weights")[k][1](), k)
             for k in ("inside_confusion", "inside_hist_0")}
    for key, spec in fresh.items():
        assert spec == kept[key], key


def test_a_visitor_opening_run_after_run_queues_at_most_a_few_builds(trained, monkeypatch):
    from ui import inside

    snaps, _ = snapshots.load_all(trained.path)
    files = (str(trained.path), inside._stamp(trained))
    monkeypatch.setattr(inside, "_waiting", [inside.MAX_AHEAD_WAITING])  # that many runs already wait
    submitted = []
    monkeypatch.setattr(inside._AHEAD, "submit", submitted.append)
    inside._build_ahead(files, snaps, 3, None, None, "x", "weights")
    assert not submitted
    monkeypatch.setattr(inside, "_waiting", [0])
    inside._build_ahead(files, snaps, 3, None, None, "x", "weights")
    inside._build_ahead(files, snaps, 3, None, None, "x", "weights")  # the same run and view: once
    assert len(submitted) == 1 and inside._waiting == [1]


def test_play_steps_through_the_stored_epochs(queue, trained, monkeypatch):
    monkeypatch.setattr("ui.inside.PLAY_SECONDS", 0.0)
    run_id = _copy(trained, queue.store)
    at = open_page("details", run=run_id)
    at.button(key="inside_play").click().run()  # at the last epoch, Play starts from the first
    assert not at.exception
    assert at.select_slider(key="inside_epoch").value == 3  # played 1, 2, 3 and stopped there
    assert at.session_state["inside_playing"] is False


def test_runs_without_snapshots_say_why(queue, trained):
    old = stored_run(queue.store, RunConfig(epochs=2), [0.9, 0.92])
    at = open_page("details", run=old.run_id)
    assert not at.exception
    assert any("no snapshots of its insides" in shown(i.value) for i in at.info), [i.value for i in at.info]
    assert "Where it goes wrong" in [h.value for h in at.header]  # the final analysis view instead

    run_id = _copy(trained, queue.store)
    for epoch in (1, 2, 3):
        snapshots.path_for(queue.store.user_dir / run_id, epoch).write_bytes(b"not a snapshot")
    at = open_page("details", run=run_id)
    assert not at.exception
    assert any("could not be read" in shown(i.value) and "epoch-0001.npz" in shown(i.value) for i in at.info)


def test_hovering_the_hidden_space_shows_the_digit(queue, trained, mnist):
    """Vega's tooltip draws a field titled "image" as a picture: each point carries its own test digit."""
    import base64
    import io
    import json

    import numpy as np
    import pyarrow as pa
    from PIL import Image

    run_id = _copy(trained, queue.store)
    at = open_page("details", run=run_id)
    chart = next(c for c in at.get("vega_lite_chart") if "first principal axis" in c.proto.spec)
    spec = json.loads(chart.proto.spec)
    assert {"field": "image", "title": "image", "type": "nominal"} in spec["encoding"]["tooltip"]
    rows = pa.ipc.open_stream(chart.proto.datasets[0].data.data).read_all().to_pandas()
    assert len(rows) == 2000
    for row in rows.sample(5, random_state=0).itertuples():
        png = base64.b64decode(row.image.removeprefix("data:image/png;base64,"))
        picture = np.asarray(Image.open(io.BytesIO(png)))
        assert np.array_equal(255 - picture, (mnist.x_test[row.test_id].reshape(28, 28) * 255).astype(np.uint8))


def test_compare_puts_two_runs_inside_side_by_side_at_one_epoch(queue, trained):
    import json

    first = _copy(trained, queue.store)
    second = first[:-6] + "abc123"
    shutil.copytree(trained.path, queue.store.user_dir / second)
    queue.store.rename(second, "the other one")
    wrong = {e: len(snapshots.load(trained.path, e)["wrong_ids"]) for e in (1, 3)}

    at = open_page("compare", runs=f"{first},{second}")
    assert not at.exception
    assert "Inside two runs, side by side" in [h.value for h in at.header]
    slider = at.select_slider(key="compare_inside_epoch")
    assert slider.options == ["1", "2", "3"] and slider.value == 3

    def sides():
        return [c.value for c in at.caption if "test images wrong" in c.value]

    def charts(text):
        return [c for c in at.get("vega_lite_chart") if text in c.proto.spec]

    assert len(sides()) == 2 and all(f"epoch 3: {wrong[3]:,} of 2,000 test images wrong" in s for s in sides())
    specs = [json.loads(c.proto.spec) for c in at.get("vega_lite_chart")]
    # each grid: one picture of the units under a clickable cell per unit
    grids = [s for s in specs if s.get("layer") and s["layer"][0]["mark"]["type"] == "image"]
    assert len(grids) == 2 and all(s["layer"][1]["mark"]["type"] == "rect" for s in grids)

    at.select_slider(key="compare_inside_epoch").set_value(1).run()
    assert not at.exception
    assert all(f"epoch 1: {wrong[1]:,} of 2,000 test images wrong" in s for s in sides())
    at.segmented_control(key="compare_inside_view").set_value("hidden").run()
    assert not at.exception and len(charts("first principal axis")) == 2


def test_compare_says_why_without_two_runs_with_snapshots(queue, trained):
    with_snapshots = _copy(trained, queue.store)
    old = stored_run(queue.store, RunConfig(epochs=2), [0.9, 0.92])
    at = open_page("compare", runs=f"{with_snapshots},{old.run_id}")
    assert not at.exception
    assert any("Select two runs that kept snapshots" in c.value and "1 of the selected runs has them" in c.value
               for c in at.caption)
    assert not [c for c in at.get("vega_lite_chart") if "first principal axis" in c.proto.spec]


def test_moving_the_slider_changes_only_the_charts_data(trained, mnist):
    """Each chart of the epoch views keeps one spec across epochs (only its datasets change), so the
    browser swaps data instead of drawing the chart anew, and the hidden space keeps one frame."""
    import json

    from ui import charts, inside, inside_charts

    snaps, _ = snapshots.load_all(trained.path)
    first, last = snaps[1], snaps[3]
    assert not np.array_equal(first["projection"], last["projection"])

    class Sink:
        def vega_lite_chart(self, spec, key, **_):
            self.spec = spec

    def drawn(chart, key):
        sink = Sink()
        inside._draw(sink, chart, key)
        return sink.spec

    lim = inside_charts.hidden_frame(snaps)
    for key, build in {
        "confusion": lambda s: inside_charts.confusion(s["confusion"].astype(np.int64)),
        "per_class": lambda s: charts.per_class(inside_charts.per_class(s["confusion"].astype(np.int64))),
        "hidden": lambda s: inside_charts.hidden_space(s, None, lim),
        "units": lambda s: inside_charts.weight_grid(s, next(iter(inside_charts.SORTS)), 300),
    }.items():
        a, b = drawn(build(first), key), drawn(build(last), key)
        data_a, data_b = a.pop("datasets"), b.pop("datasets")
        assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True), key
        assert data_a != data_b, key


def test_the_weight_grid_is_one_picture_whose_cells_are_the_units_in_the_grids_order(trained):
    """The grid is drawn as one picture under a clickable cell per unit: the picture's cell at (row, col)
    is that cell's unit, for every sort, and the click lands on the unit the tooltip names."""
    import base64
    import io

    from PIL import Image

    from ui import inside_charts

    snap = snapshots.load(trained.path, 3)
    blank = np.zeros((28, 28), bool)
    blank[0] = True
    pad = (inside_charts.CELL - 28) // 2
    for sort in inside_charts.SORTS:
        spec = inside_charts.weight_grid(snap, sort, 40, blank, columns=7).to_dict()
        picture_layer, cells_layer = spec["layer"]
        url = spec["datasets"][picture_layer["data"]["name"]][0]["image"]
        sheet = np.asarray(Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1]))).convert("RGB"))
        cells = spec["datasets"][cells_layer["data"]["name"]]
        assert sheet.shape == (-(-len(cells) // 7) * inside_charts.CELL, 7 * inside_charts.CELL, 3)
        assert picture_layer["mark"]["width"] == sheet.shape[1] and picture_layer["mark"]["height"] == sheet.shape[0]
        expected = [int(u) for u in inside_charts.unit_table(snap, sort)["unit"][:40]]
        assert [c["unit"] for c in cells] == expected, sort
        for c in cells:
            y, x = c["row"] * inside_charts.CELL + pad, c["col"] * inside_charts.CELL + pad
            np.testing.assert_array_equal(sheet[y:y + 28, x:x + 28],
                                          inside_charts.signed_rgb(snap["first_weights"][c["unit"]:c["unit"] + 1], blank)[0])
