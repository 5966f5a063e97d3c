"""The timing file the Study's time claims read: which settings share a time, and which files are believed.
Measuring one trains each setting on a small subset, back to back in one process."""

import json

import pytest

from mnist_core import timing
from mnist_core.config import RunConfig


def test_seed_and_epochs_share_a_time_and_every_other_setting_has_its_own():
    base = RunConfig()
    assert timing.key(base.replace(seed=7, epochs=60)) == timing.key(base.replace(epochs=3))
    assert timing.key(base) != timing.key(base.replace(batch_size=20))
    assert timing.key(base) != timing.key(base.replace(hidden=(64,)))


def test_a_good_timing_file_is_read_with_where_it_was_measured(tmp_path):
    (tmp_path / timing.FILE).write_text(json.dumps({
        "created": "2026-11-28T10:00:00.123456", "environment": {"host": "ci", "cpu": "2 cores"},
        "seconds_per_epoch": {"a": 0.5, "b": 2}}))
    assert timing.read(tmp_path) == {"seconds_per_epoch": {"a": 0.5, "b": 2},
                                     "environment": {"host": "ci", "cpu": "2 cores"},
                                     "created": "2026-11-28T10:00:00"}
    # Without a machine description it is still read, from an unknown machine.
    (tmp_path / timing.FILE).write_text(json.dumps({"seconds_per_epoch": {"a": 0.5}, "environment": "ci"}))
    assert timing.read(tmp_path) == {"seconds_per_epoch": {"a": 0.5}, "environment": {}, "created": ""}


@pytest.mark.parametrize("text", [
    "not json", "[]", '{"no_times": {}}', '{"seconds_per_epoch": [0.5]}', '{"seconds_per_epoch": {"a": "0.5"}}',
    '{"seconds_per_epoch": {"a": 0}}', '{"seconds_per_epoch": {"a": -1}}', '{"seconds_per_epoch": {"a": 1e7}}', '{"seconds_per_epoch": {"a": 1000000}}',
    '{"seconds_per_epoch": {"a": 0.5, "b": null}}'])
def test_a_timing_file_that_is_not_a_table_of_positive_seconds_is_not_believed(tmp_path, text):
    (tmp_path / timing.FILE).write_text(text)
    assert timing.read(tmp_path) is None


def test_no_folder_or_no_file_means_no_timing(tmp_path):
    assert timing.read(None) is None and timing.read(tmp_path) is None


def test_measuring_times_every_setting_in_one_process_and_its_file_is_read_back(tmp_path, small_mnist):
    cells = [RunConfig(train_examples=2100), RunConfig(train_examples=2100, batch_norm=True)]
    said = []
    measured = timing.measure(cells, epochs=2, rounds=2, dataset=small_mnist, log=said.append)
    assert set(measured["seconds_per_epoch"]) == {timing.key(c) for c in cells}
    # Each setting's time is its fastest epoch over both rounds, as the log lines report them.
    for c in cells:
        per_round = [float(line.split(": ")[1].split()[0]) for line in said if line.endswith("s per epoch")
                     and f" {c.label}: " in line]
        assert len(per_round) == 2 and measured["seconds_per_epoch"][timing.key(c)] == pytest.approx(min(per_round), abs=1e-3)
    (tmp_path / timing.FILE).write_text(json.dumps(measured))
    assert timing.read(tmp_path)["seconds_per_epoch"] == measured["seconds_per_epoch"]
