"""run.json's schema (mnist_core/record.py): a record that would crash a reader is skipped with a reason,
and whatever passes can be read by every page's code. Hypothesis feeds arbitrary JSON shapes through it."""

import copy
import json
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_core import compare, curves, estimate, record, study
from mnist_core.config import FIELDS, RunConfig
from mnist_core.store import Run, RunStore, StoreError
from tests.helpers import stored_run

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "app"))
from ui import charts  # noqa: E402  (the pages' charts: plain functions of data)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12)


def _good_record(tmp_path) -> dict:
    store = RunStore(tmp_path / "good", None)
    run = stored_run(store, RunConfig(epochs=3, pca=50), [0.95, 0.97, 0.981])

    def add(d):
        for h in d["history"]:
            h["dead_units"], h["grad_norm"] = [0.1, 0.0], [0.5, 0.4, 0.3]
        d["pca"] = {"components": 50, "explained_variance": 0.82, "fit_seconds": 0.3, "cached": False}
        d["param_count"] = 46_310
        d["analysis"] = {"accuracy": 0.981, "confusion": [[90 if i == j else 1 for j in range(10)] for i in range(10)],
                         "per_class_accuracy": [0.98] * 10, "misclassified_total": 2,
                         "misclassified": [{"index": 8, "true": 5, "pred": 6, "confidence": 0.9, "top3": [6, 5, 0]},
                                           {"index": 9999, "true": 4, "pred": 9, "confidence": 0.8, "top3": [9, 4, 1]}]}
    return store.update(run.run_id, add)


def _sample_record() -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        return _good_record(Path(tmp))


GOOD = _sample_record()


@pytest.fixture
def good():
    return copy.deepcopy(GOOD)


def _put(store: RunStore, data: dict, run_id="20260101-000000-bad-abcdef") -> Path:
    folder = store.user_dir / run_id
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "run.json").write_text(json.dumps(data))
    return folder


def _read_like_the_pages(run: Run, all_runs: list[Run]) -> None:
    """What Compare, Run details, Study and the Train page's estimate do with a run's record."""
    table = compare.runs_table(all_runs)
    compare.filter_table(table, "relu a", ["finished", "failed"], False)
    compare.settings_diff(all_runs)
    compare.curves_csv(all_runs)
    charts.overlay(compare.curves_frame(all_runs, 0.6), "wall_seconds", "test_accuracy", log_y=True)
    charts.band(compare.band_frame([run], all_runs, "test_loss"), "epoch", "test_loss")
    study.evaluate(all_runs)
    estimate.estimate(RunConfig(), all_runs)
    d, history = run.data, run.history  # Run details, top to bottom
    compare.run_label(run), run.config.label, curves.milestones(history), curves.seconds_per_epoch(history)
    [compare.format_setting(d["config"][f.name]) for f in FIELDS]
    if history:
        charts.run_curves(history, "accuracy"), charts.run_curves(history, "loss")
        charts.layer_health(history, "dead_units", "dead"), charts.layer_health(history, "grad_norm", "g", log=True)
    pca, env = d.get("pca"), d.get("environment") or {}
    if pca:
        f"{pca['components']} {pca['explained_variance']:.1%} {pca['fit_seconds']:.2f}"
    f"{env.get('cpu_count', '?')} {env.get('machine', '?')} {d.get('param_count') or 0:,}"
    if d.get("analysis"):
        a = d["analysis"]
        charts.confusion(a["confusion"]), charts.per_class(a["per_class_accuracy"])
        assert all(0 <= m["index"] < 10_000 and isinstance(m["index"], int) for m in a["misclassified"])
        f"{a['misclassified_total']:,}"


# --- the cases that crashed pages -----------------------------------------------------------------
BAD = {
    "tags are numbers": ("tags", [1, 2]),
    "accuracy is text": ("best_test_accuracy", "abc"),
    "milestones is text": ("milestones", "x"),
    "parameter count is text": ("param_count", "many"),
    "pca is text": ("pca", "x"),
    "environment is text": ("environment", "str"),
    "group is a list": ("group", ["a"]),
    "owner is text": ("owner", "me"),
    "an epoch is text": ("history", [{"epoch": "1"}]),
}


@pytest.mark.parametrize("field, value", BAD.values(), ids=BAD.keys())
def test_a_record_that_would_crash_a_page_is_skipped_with_a_reason(tmp_path, good, field, value):
    store = RunStore(tmp_path / "user", None)
    stored_run(store, RunConfig(epochs=1), [0.9])
    _put(store, {**good, field: value})
    warnings = []
    runs = store.list(warnings)
    assert len(runs) == 1, "the bad record was listed"
    assert len(warnings) == 1 and field in warnings[0] and "expected shape" in warnings[0]
    _read_like_the_pages(runs[0], runs)
    with pytest.raises(StoreError, match=field):
        store.get("20260101-000000-bad-abcdef")


def test_a_misclassified_index_past_the_test_set_is_refused(tmp_path, good):
    bad = copy.deepcopy(good)
    bad["analysis"]["misclassified"][0]["index"] = 99_999_999
    with pytest.raises(record.RecordError, match="index"):
        record.check(bad)
    bad["analysis"]["misclassified"][0]["index"] = 8.0  # a float cannot index the test images
    with pytest.raises(record.RecordError, match="index"):
        record.check(bad)


def test_nan_and_oversized_files_are_not_read(tmp_path, good, monkeypatch):
    store = RunStore(tmp_path / "user", None)
    folder = _put(store, good)
    (folder / "run.json").write_text(json.dumps(good).replace('"best_test_accuracy": 0.981', '"best_test_accuracy": NaN'))
    with pytest.raises(StoreError, match="NaN"):
        store.get(folder.name)
    monkeypatch.setattr("mnist_core.runfile.MAX_RECORD_BYTES", 1000)
    (folder / "run.json").write_text(json.dumps(good))
    with pytest.raises(StoreError, match="larger than"):
        store.get(folder.name)


def test_a_change_that_would_break_the_schema_is_refused(tmp_path):
    store = RunStore(tmp_path / "user", None)
    run = stored_run(store, RunConfig(epochs=1), [0.9])
    with pytest.raises(StoreError, match="param_count"):
        store.update(run.run_id, param_count="many")
    assert store.get(run.run_id).data.get("param_count") != "many"


def test_the_shipped_reference_runs_match_the_schema():
    runs = sorted((Path(__file__).resolve().parent.parent / "cached_runs" / "reference").glob("*/run.json"))
    assert runs
    for path in runs:
        record.check(json.loads(path.read_text()))


# --- property-based: nothing reaches a page as an exception ------------------------------------
def _paths(good: dict) -> list[tuple]:
    """Every field of a good record, and every field inside its objects (first list item only)."""
    out = []

    def walk(value, prefix):
        if prefix:
            out.append(prefix)
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, prefix + (k,))
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            walk(value[0], prefix + (0,))

    walk(good, ())
    return out


def _replace(data, path, new):
    data = copy.deepcopy(data)
    target = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return data


FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                         HealthCheck.function_scoped_fixture])
@pytest.mark.parametrize("path", _paths(GOOD), ids=lambda p: "/".join(map(str, p)))
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                HealthCheck.function_scoped_fixture])
@given(new=json_values)
def test_any_field_of_a_record_replaced_by_any_json_is_refused_or_readable(good, path, new):
    fuzzed = _replace(good, path, new)
    try:
        record.check(fuzzed)
    except record.RecordError as e:
        assert str(e) and "\n" not in str(e)
        return
    run = Run("20260101-000000-fuzz-abcdef", Path("/nonexistent"), fuzzed, False)
    _read_like_the_pages(run, [run, Run("20260101-000000-good-abcdef", Path("/nonexistent"), good, True)])


@FUZZ
@given(json_values)
def test_any_json_value_as_a_whole_record_is_refused_with_one_line(value):
    with pytest.raises(record.RecordError) as e:
        record.check(value)
    assert "\n" not in str(e.value)


queries = st.dictionaries(
    st.sampled_from([f.name for f in FIELDS]) | st.text(max_size=10),
    st.text(max_size=30) | st.lists(st.text(max_size=10), max_size=3)
    | st.sampled_from(["0", "1", "-1", "1e999", "nan", "inf", "300-100", "1,2,3,4,5", "0x10", " 7 ", "٣"]),
    max_size=6)


@FUZZ
@given(queries)
def test_any_query_string_gives_a_valid_config_and_sentences(params):
    config, warnings = RunConfig.from_query(params)
    assert isinstance(config, RunConfig) and RunConfig.from_dict(config.to_dict()) == config
    assert all(isinstance(w, str) and w and "\n" not in w for w in warnings)
