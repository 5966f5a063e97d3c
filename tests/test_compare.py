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
