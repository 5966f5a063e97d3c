import io

import pandas as pd
import pytest

from mnist_core import compare
from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.helpers import stored_run


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "user", tmp_path / "ref")


def test_runs_table_columns_and_values(store):
    r = stored_run(store, RunConfig(hidden=(100, 30), pca_variance=0.95, epochs=3), [0.9, 0.97, 0.98],
                   tags=["a", "b"])
    store.update(r.run_id, pca={"components": 154, "explained_variance": 0.95, "fit_seconds": 0.3,
                                "cached": False})
    row = compare.runs_table(store.list()).iloc[0]
    assert row["hidden"] == "100-30" and row["pca"] == "95% (154)" and row["tags"] == "a, b"
    assert row["epochs_to_97"] == 2 and row["seconds_to_98"] == 1.5 and row["seconds_per_epoch"] == 0.5
    assert pd.isna(compare.runs_table([stored_run(store, RunConfig(), [0.5])]).iloc[0]["epochs_to_97"])


def test_filter_matches_words_in_any_order_and_status(store):
    stored_run(store, RunConfig(activation="elu", batch_norm=True), [0.9], name="first")
    stored_run(store, RunConfig(optimizer="adam"), [0.9], status="stopped")
    table = compare.runs_table(store.list())
    assert list(compare.filter_table(table, "BN elu")["label"]) == ["first"]
    assert list(compare.filter_table(table, "", ["stopped"])["optimizer"]) == ["adam"]
    assert len(compare.filter_table(table, "nothing-matches")) == 0


def test_settings_diff_shows_only_what_differs(store):
    a = stored_run(store, RunConfig(), [0.9])
    b = stored_run(store, RunConfig(hidden=(1568, 500), batch_norm=True), [0.9])
    diff = compare.settings_diff([a, b])
    assert list(diff.index) == ["Hidden layers", "Batch norm"]
    assert list(diff.loc["Hidden layers"]) == ["300-100", "1568-500"] and list(diff.loc["Batch norm"]) == ["off", "on"]
    assert compare.settings_diff([a, stored_run(store, RunConfig(), [0.8])]).empty


def test_curves_frame_smooths_per_run(store):
    a = stored_run(store, RunConfig(), [0.5, 1.0, 0.5])
    b = stored_run(store, RunConfig(seed=1), [1.0, 1.0, 1.0])
    raw = compare.curves_frame([a, b])
    smooth = compare.curves_frame([a, b], 0.5)
    assert len(raw) == 6 and raw["run"].nunique() == 2
    assert list(smooth[smooth.run_id == b.run_id]["test_accuracy"]) == pytest.approx([1.0, 1.0, 1.0])
    assert smooth[smooth.run_id == a.run_id]["test_accuracy"].iloc[1] != 1.0


def test_csv_has_every_epoch_of_every_run_with_its_settings(store):
    a = stored_run(store, RunConfig(activation="elu"), [0.9, 0.95])
    b = stored_run(store, RunConfig(optimizer="adam"), [0.8])
    df = pd.read_csv(io.StringIO(compare.curves_csv([a, b])))
    assert len(df) == 3 and set(df["run_id"]) == {a.run_id, b.run_id}
    assert list(df[df.run_id == a.run_id]["test_accuracy"]) == [0.9, 0.95]
    assert set(df[df.run_id == b.run_id]["optimizer"]) == {"adam"} and "hidden" in df.columns


def test_band_frame_aggregates_a_seed_group(store):
    from mnist_core.config import RunConfig as C

    members = []
    for seed, accs in ((1, [0.90, 0.95, 0.96]), (2, [0.92, 0.93, 0.97]), (3, [0.91, 0.94])):
        run_id = stored_run(store, C(seed=seed), accs).run_id
        store.update(run_id, group="g1")
        members.append(store.get(run_id))
    loner = stored_run(store, C(activation="elu"), [0.8, 0.85, 0.9])
    df = compare.band_frame([members[0], loner], store.list(), "test_accuracy")
    group = df[df["run"].str.contains("×3 seeds")]
    assert list(group["epoch"]) == [1, 2]  # the third epoch is not shared by all three seeds
    assert list(group["mean"]) == pytest.approx([0.91, 0.94]) and list(group["lo"]) == [0.90, 0.93]
    assert list(group["hi"]) == [0.92, 0.95] and set(group["n"]) == {3}
    alone = df[~df["run"].str.contains("seeds")]
    assert list(alone["lo"]) == list(alone["hi"]) == list(alone["mean"]) == [0.8, 0.85, 0.9]


def test_every_column_of_the_table_says_what_the_run_did(store, tmp_path):
    run = stored_run(store, RunConfig(hidden=(64, 32), activation="elu", batch_norm=True, optimizer="adam",
                                      learning_rate=0.002, batch_size=35, epochs=3),
                     [0.96, 0.975, 0.985], name="mine", tags=["t1"], seconds_per_epoch=2.0)
    store.update(run.run_id, group="g7", param_count=1234)
    shipped = stored_run(RunStore(tmp_path / "ref"), RunConfig(pca=50, epochs=1), [0.5])
    table = compare.runs_table([store.get(run.run_id), store.get(shipped.run_id)])
    assert list(table.columns) == list(compare._COLUMNS)
    row = table.iloc[0]
    expected = {"run_id": run.run_id, "label": "mine", "status": "finished", "reference": False,
                "hidden": "64-32", "activation": "elu", "batch_norm": True, "pca": "", "optimizer": "adam",
                "learning_rate": 0.002, "batch_size": 35, "epochs": 3, "best_test_accuracy": 0.985,
                "final_test_accuracy": 0.985, "epochs_to_97": 2, "seconds_to_97": 4.0, "epochs_to_98": 3,
                "seconds_to_98": 6.0, "seconds_per_epoch": 2.0, "params": 1234, "tags": "t1", "group": "g7"}
    for key, value in expected.items():
        assert row[key] == (pytest.approx(value) if isinstance(value, float) else value), key
    assert row["created"].year >= 2026 and str(row["created"].tz) == "UTC"
    other = table.iloc[1]
    assert other["reference"] and other["pca"] == "50" and other["tags"] == "" and pd.isna(other["epochs_to_97"])


def test_filter_looks_in_tags_and_ids_and_can_hide_reference_runs(store, tmp_path):
    a = stored_run(store, RunConfig(), [0.9], tags=["lesson-3"])
    ref = stored_run(RunStore(tmp_path / "ref"), RunConfig(seed=5), [0.9])
    table = compare.runs_table([a, store.get(ref.run_id)])
    assert list(compare.filter_table(table, "LESSON-3")["run_id"]) == [a.run_id]
    assert list(compare.filter_table(table, ref.run_id[-6:])["run_id"]) == [ref.run_id]
    assert list(compare.filter_table(table, "  ")["run_id"]) == list(table["run_id"])
    assert list(compare.filter_table(table, include_reference=False)["run_id"]) == [a.run_id]
    assert list(compare.filter_table(table, statuses=[])["run_id"]) == []


def test_settings_read_as_people_write_them():
    assert compare.format_setting([300, 100]) == "300-100"
    assert compare.format_setting(True) == "on" and compare.format_setting(False) == "off"
    assert compare.format_setting(0.010) == "0.01" and compare.format_setting(70) == "70"
    assert compare.format_setting("elu") == "elu"
    assert compare.settings_diff([]).empty


def test_runs_without_epochs_give_empty_curves_and_settings_only_csv(store):
    empty = store.get(store.create(RunConfig(activation="tanh")))
    frame = compare.curves_frame([empty])
    assert frame.empty and list(frame.columns[:2]) == ["run", "run_id"]
    assert set(compare.curves.HISTORY_KEYS) <= set(frame.columns)
    csv = pd.read_csv(io.StringIO(compare.curves_csv([empty])))
    assert list(csv["run_id"]) == [empty.run_id] and list(csv["activation"]) == ["tanh"]
    assert "Unnamed: 0" not in csv.columns  # no index column
    band = compare.band_frame([empty], [empty], "test_accuracy")
    assert band.empty and list(band.columns) == ["run", "epoch", "mean", "lo", "hi", "train_seconds",
                                                 "wall_seconds", "n"]


def test_curves_keep_their_order_and_a_fresh_index(store):
    a = stored_run(store, RunConfig(), [0.5, 0.6])
    b = stored_run(store, RunConfig(seed=1), [0.7])
    frame = compare.curves_frame([a, b])
    assert list(frame.columns[:2]) == ["run", "run_id"] and list(frame.index) == [0, 1, 2]
    assert list(frame["run_id"]) == [a.run_id, a.run_id, b.run_id]
    assert list(frame["run"]) == [compare.run_label(a)] * 2 + [compare.run_label(b)]
    assert compare.run_label(a).endswith(" · " + a.run_id[-6:])
    csv = pd.read_csv(io.StringIO(compare.curves_csv([a, b])))
    assert "run" not in csv.columns and list(csv.columns[:2]) == ["run_id", "epoch"]
    assert list(csv["test_accuracy"]) == [0.5, 0.6, 0.7]


def test_filters_combine_and_words_are_literal(store, tmp_path):
    a = stored_run(store, RunConfig(activation="elu"), [0.9], name="net (v2.1)")
    b = stored_run(store, RunConfig(activation="elu", seed=3), [0.9], status="stopped")
    ref = stored_run(RunStore(tmp_path / "ref"), RunConfig(activation="elu", seed=4), [0.9])
    table = compare.runs_table([a, b, store.get(ref.run_id)])
    assert list(compare.filter_table(table, "elu", ["stopped"])["run_id"]) == [b.run_id]
    assert list(compare.filter_table(table, "elu", include_reference=False)["run_id"]) == [a.run_id, b.run_id]
    assert list(compare.filter_table(table, "(v2.1)")["run_id"]) == [a.run_id]  # not a regular expression
    assert list(compare.filter_table(table, "v2.1 elu")["run_id"]) == [a.run_id]
    assert compare.filter_table(table, "xx").empty


def test_the_diff_has_a_column_per_run_named_like_its_legend(store):
    a = stored_run(store, RunConfig(), [0.9])
    b = stored_run(store, RunConfig(learning_rate=0.1), [0.9])
    diff = compare.settings_diff([a, b])
    assert list(diff.columns) == [compare.run_label(a), compare.run_label(b)]
    assert list(diff.loc["Learning rate"]) == ["0.01", "0.1"]


def test_a_seed_band_is_named_by_its_settings_and_smoothed_like_the_curves(store):
    for seed, accs in ((1, [0.5, 0.9, 0.5]), (2, [0.5, 0.9, 0.5])):
        run_id = stored_run(store, RunConfig(seed=seed), accs).run_id
        store.update(run_id, group="g", label="my settings")
    empty = store.get(store.create(RunConfig(seed=9)))  # selected, but nothing trained yet
    members = [r for r in store.list() if r.data.get("group") == "g"]
    band = compare.band_frame([empty, members[0]], store.list(), "test_accuracy", smoothing=0.5)
    assert set(band["run"]) == {"my settings (×2 seeds)"}
    assert list(band["mean"]) == pytest.approx(compare.curves.smooth([0.5, 0.9, 0.5], 0.5))
    assert list(band.index) == [0, 1, 2]


def _group(store, name, config, finals):
    for i, final in enumerate(finals):
        run_id = stored_run(store, config.replace(seed=42 + i), [final - 0.01, final]).run_id
        store.update(run_id, group=name)
    return [r for r in store.list() if r.data.get("group") == name]


def test_two_seed_groups_get_their_difference_with_its_uncertainty(store):
    relu = _group(store, "relu", RunConfig(), [0.980, 0.981, 0.979, 0.9805, 0.9795])
    elu = _group(store, "elu", RunConfig(activation="elu"), [0.975, 0.976, 0.974, 0.9755, 0.9745])
    line = compare.group_difference([relu[0], elu[0]], store.list())
    assert line.startswith("Final test accuracy, 300-100 relu sgd − 300-100 elu sgd: +0.50 points (95% CI +0.")
    assert "over 5 and 5 seeds: 300-100 relu sgd is better." in line
    same = _group(store, "relu again", RunConfig(batch_size=64), [0.9801, 0.9799, 0.9806, 0.9794, 0.98])
    assert compare.group_difference([relu[0], same[0]], store.list()).endswith(
        "no difference detectable with 5 seeds.")
    assert compare.group_difference([relu[0]], store.list()) is None  # one group: nothing to compare
    assert compare.group_difference([relu[0], elu[0], same[0]], store.list()) is None
