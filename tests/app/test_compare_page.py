"""The Compare page with AppTest: the table, overlaying selected runs, the diff, managing runs."""

import json

import pytest

from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.app.conftest import open_page, shown
from tests.helpers import stored_run


@pytest.fixture
def runs(queue, tmp_path):
    shipped = RunStore(queue.store.reference_dir)
    ref = stored_run(shipped, RunConfig(epochs=3), [0.95, 0.97, 0.98])
    a = stored_run(queue.store, RunConfig(activation="elu", batch_norm=True, epochs=3), [0.96, 0.975, 0.982],
                   name="elu with BN")
    b = stored_run(queue.store, RunConfig(optimizer="adam", learning_rate=0.001, epochs=2), [0.97, 0.978])
    return ref, a, b


def test_no_runs_yet(queue):
    at = open_page("compare")
    assert not at.exception
    assert "No runs yet" in at.info[0].value


def test_the_table_lists_every_run_and_marks_reference_runs(runs):
    at = open_page("compare")
    assert not at.exception
    table = at.dataframe[0].value
    assert len(table) == 3
    assert sorted(table["kind"]) == ["reference", "yours", "yours"]
    row = table[table["label"] == "elu with BN"].iloc[0]
    assert row["activation"] == "elu" and row["batch_norm"] and row["best_test_accuracy"] == pytest.approx(0.982)
    assert row["epochs_to_97"] == 2 and row["epochs_to_98"] == 3
    assert "Select runs in the table" in at.info[0].value


def test_filter_and_reference_toggle(runs):
    at = open_page("compare")
    at.text_input[0].set_value("adam").run()
    assert list(at.dataframe[0].value["optimizer"]) == ["adam"]
    at.text_input[0].set_value("").run()
    at.toggle[0].set_value(False).run()  # hide reference runs
    assert "reference" not in list(at.dataframe[0].value["kind"])


def test_selected_runs_are_overlaid_with_a_diff_of_their_settings(runs):
    ref, a, b = runs
    at = open_page("compare", runs=f"{a.run_id},{b.run_id}")
    assert not at.exception
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1
    diff = at.table[0].value
    assert set(diff.index) == {"Activation", "Batch norm", "Optimizer", "Learning rate", "Epochs"}
    assert sorted(diff.loc["Optimizer"]) == ["adam", "sgd"]
    at.segmented_control(key="x_axis").set_value("train_seconds").run()
    at.toggle(key="side_by_side").set_value(True).run()
    assert not at.exception


def test_rename_tag_and_delete_your_runs(runs):
    ref, a, b = runs
    at = open_page("compare", runs=f"{ref.run_id},{b.run_id}")
    at.text_input[1].set_value("adam <b>baseline</b> ../x")  # a form: values go in with its Save button
    at.text_input[2].set_value("demo, lesson 2")
    at.button(key="FormSubmitter:rename-Save").click().run()
    assert not at.exception
    store = runs[1].path.parent
    run = RunStore(store).get(b.run_id)
    assert run.data["name"] == "adam <b>baseline</b> ../x" and run.data["tags"] == ["demo", "lesson 2"]

    at.checkbox(key="confirm_delete").check().run()
    at.button[-1].click().run()
    assert not at.exception
    ids = [r.run_id for r in RunStore(store, ref.path.parent).list()]
    assert b.run_id not in ids and ref.run_id in ids  # the reference run was not touched


def test_a_name_that_is_too_long_is_refused_with_one_sentence(runs):
    ref, a, b = runs
    at = open_page("compare", runs=a.run_id)
    at.text_input[1].set_value("x" * 150)
    at.button(key="FormSubmitter:rename-Save").click().run()
    assert not at.exception
    assert any("at most 100 characters" in e.value for e in at.error)


def test_a_corrupt_run_is_listed_as_skipped_and_the_page_works(runs):
    ref, a, b = runs
    bad = a.path.parent / "20260101-000000-broken-abcdef"
    bad.mkdir()
    (bad / "run.json").write_text("{ truncated")
    at = open_page("compare")
    assert not at.exception
    assert len(at.dataframe[0].value) == 3
    assert "could not be read" in at.expander[0].label


def test_records_of_the_wrong_shape_are_skipped_and_no_page_crashes(runs):
    ref, a, b = runs
    for i, (field, value) in enumerate([("tags", [1, 2]), ("environment", "str"), ("best_test_accuracy", "abc")]):
        bad = a.path.parent / f"20260101-00000{i}-wrong-abcdef"
        bad.mkdir()
        (bad / "run.json").write_text(json.dumps({**a.data, field: value}))
    at = open_page("compare", runs=f"{a.run_id},{b.run_id}")
    assert not at.exception
    assert len(at.dataframe[0].value) == 3 and "3 run folder(s) could not be read" in at.expander[0].label
    assert any("tags[0] must be string" in t.value for t in at.text)
    at = open_page("details", run="20260101-000001-wrong-abcdef")
    assert not at.exception and "environment must be object" in shown(at.warning[0].value)


def test_a_diverged_run_says_so_with_a_smaller_rate_on_every_page(runs):
    ref, a, b = runs
    reason = ("the training loss exploded to 3.59e+15 in epoch 1, more than 2 times the 2.31 of the untrained "
              "network: the learning rate 10 is too high for sgd; try 1 or smaller (the learning-rate finder "
              "suggests one)")
    wreck = stored_run(RunStore(a.path.parent), RunConfig(learning_rate=10.0, epochs=3), [0.11],
                       status="diverged")
    RunStore(a.path.parent).update(wreck.run_id, reason=reason)

    def texts(at):
        return " ".join(shown(w.value) for w in [*at.warning, *at.markdown, *at.caption])

    at = open_page("compare", runs=f"{a.run_id},{wreck.run_id}")
    assert not at.exception and "diverged: the training loss exploded" in texts(at)
    assert "try 1 or smaller" in texts(at) and "too high" in texts(at)
    for page, query in (("details", {"run": wreck.run_id}), ("train", {"run": wreck.run_id})):
        at = open_page(page, **query)
        assert not at.exception and "try 1 or smaller" in texts(at), page


def test_two_seed_groups_show_their_difference_with_its_uncertainty(queue):
    for name, config, finals in (("g-relu", RunConfig(epochs=2), (0.980, 0.981, 0.979)),
                                 ("g-elu", RunConfig(activation="elu", epochs=2), (0.975, 0.976, 0.974))):
        for i, final in enumerate(finals):
            run = stored_run(queue.store, config.replace(seed=42 + i), [final - 0.01, final])
            queue.store.update(run.run_id, group=name)
    ids = [r.run_id for r in queue.store.list() if r.config.seed == 42]
    at = open_page("compare", runs=",".join(ids))
    assert not at.exception
    line = next(c.value for c in at.caption if "Final test accuracy" in c.value)
    assert "+0.50 points (95% CI" in shown(line) or "-0.50 points (95% CI" in shown(line)
    assert "over 3 and 3 seeds" in shown(line) and "is better" in shown(line)


def test_deleting_a_selected_run_at_the_top_keeps_the_page_working(runs):
    """The selection is row numbers: with the deleted run first and the other selected run last, the
    stale selection points past the shorter table's end (CI hit this when the runs' creation order tied)."""
    ref, a, b = runs
    for run, day in ((ref, 1), (a, 2), (b, 3)):  # newest first: b, a, ref
        RunStore(run.path.parent).update(run.run_id, created=f"2026-01-0{day}T10:00:00+00:00")
    at = open_page("compare", runs=f"{ref.run_id},{b.run_id}")
    assert list(at.dataframe[0].value["run_id"]) == [b.run_id, a.run_id, ref.run_id]
    at.checkbox(key="confirm_delete").check().run()
    at.button[-1].click().run()
    assert not at.exception
    assert list(at.dataframe[0].value["run_id"]) == [a.run_id, ref.run_id]
