"""Lesson files: every shipped lesson is valid and answerable from the shipped reference runs; a broken
file is one sentence naming it, never an exception."""

from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_core import lessons, measures
from mnist_core.config import RunConfig
from mnist_core.store import PROJECT_DIR, RunStore
from tests.helpers import stored_run

SHIPPED = sorted((PROJECT_DIR / "lessons").glob("*.toml"))
GOOD = """
title = "T"
goal = "G"
[runs.a]
epochs = 2
[runs.b]
batch_norm = true
epochs = 2
[[steps]]
title = "S"
text = "Prose."
show = ["a", "b"]
[steps.question]
ask = "Which is better?"
measure = "best_accuracy"
pick = "max"
"""


@pytest.fixture(scope="module")
def reference_runs():
    return RunStore(PROJECT_DIR / "no-user-runs", PROJECT_DIR / "cached_runs" / "reference").list()


def test_at_least_five_lessons_ship_and_all_load():
    found, problems = lessons.load_all(PROJECT_DIR / "lessons")
    assert problems == []
    assert len(found) >= 5 and len(found) == len(SHIPPED)
    assert [lesson.order for lesson in found] == sorted(lesson.order for lesson in found)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_lesson_is_answerable_from_the_reference_runs(path, reference_runs):
    lesson = lessons.load(path)
    for number, step in enumerate(lesson.steps, 1):
        found = lessons.step_runs(lesson, step, reference_runs)
        for name in step.show:  # what a step shows ships with the project, so it works before anyone trains
            assert found[name] is not None, f"step {number}: no reference run for {name!r}"
            assert found[name].reference
        if step.train:  # what the student trains is a valid config that trains in well under a minute
            config = lesson.runs[step.train]
            assert config.epochs * config.train_examples <= 200_000, f"step {number} trains too long for a class"
        q = step.question
        if q is None:
            continue
        if lessons.YOU in (q.of, q.ratio_to, q.minus) or (q.pick and step.train):
            continue  # answered by the student's own run
        result = lessons.answer(lesson, step, found)
        assert result is not None and result.value is not None, f"step {number}: question has no answer"


def test_reference_answers_are_measured_not_typed(reference_runs):
    """The answers follow the stored curves: the notebook grid's known facts come out."""
    size = lessons.load(PROJECT_DIR / "lessons" / "network-size.toml")
    step = size.steps[0]
    assert lessons.answer(size, step, lessons.step_runs(size, step, reference_runs)).value == "1568-500"
    bn = lessons.load(PROJECT_DIR / "lessons" / "batch-norm-elu.toml")
    ratio = lessons.answer(bn, bn.steps[1], lessons.step_runs(bn, bn.steps[1], reference_runs))
    assert 1.0 < ratio.value < 2.5 and ratio.text.endswith("×")


def test_student_run_stands_for_you_and_epochs_cut_the_curve(tmp_path):
    store = RunStore(tmp_path / "u", tmp_path / "r")
    path = tmp_path / "l.toml"
    path.write_text(GOOD.replace('show = ["a", "b"]', 'train = "a"\nshow = ["b"]'))
    lesson = lessons.load(path)
    step = lesson.steps[0]
    assert lessons.answer(lesson, step, lessons.step_runs(lesson, step, store.list())) is None  # nobody trained
    mine = stored_run(store, RunConfig(epochs=2), [0.91, 0.99])
    stored_run(store, RunConfig(batch_norm=True, epochs=5), [0.95, 0.96, 0.995, 0.999, 0.999])
    found = lessons.step_runs(lesson, step, store.list(), yours=mine)
    result = lessons.answer(lesson, step, found)
    assert found[lessons.YOU] is mine
    assert result.value == lessons.YOU  # b's later 99.9% lies beyond the 2 epochs the lesson asks for


BROKEN = {
    "not toml": ("title = ", "not valid TOML"),
    "no steps": ('title = "T"\ngoal = "G"\n', "needs 'steps'"),
    "typo": (GOOD.replace("measure =", "measur ="), "unknown key 'measur'"),
    "bad setting": (GOOD.replace("batch_norm = true", "batch_norm = 3"), "run 'b'"),
    "unknown run": (GOOD.replace('["a", "b"]', '["a", "c"]'), "shows run 'c'"),
    "unknown measure": (GOOD.replace('"best_accuracy"', '"happiness"'), "measures 'happiness'"),
    "no answer": (GOOD.replace('pick = "max"', ""), "either pick"),
    "free without train": (GOOD.replace('show = ["a", "b"]', 'show = ["a", "b"]\nfree = ["seed"]'), "free settings"),
    "unknown field": (GOOD.replace('show = ["a", "b"]', 'train = "a"\nfree = ["colour"]'), "'colour'"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_malformed_lesson_is_one_sentence_naming_the_file(tmp_path, case):
    text, expected = BROKEN[case]
    (tmp_path / "good.toml").write_text(GOOD)
    (tmp_path / "broken.toml").write_text(text)
    found, problems = lessons.load_all(tmp_path)
    assert [lesson.id for lesson in found] == ["good"]  # the other lesson still works
    assert len(problems) == 1 and problems[0].startswith("Lesson file broken.toml: ")
    assert expected in problems[0] and problems[0].endswith(".") and "\n" not in problems[0].strip()


def test_hostile_files_are_reported(tmp_path):
    (tmp_path / "Bad Name.toml").write_text(GOOD)
    (tmp_path / "huge.toml").write_text("#" * (lessons.MAX_FILE_BYTES + 1))
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "link.toml").symlink_to(tmp_path / "huge.toml")
    found, problems = lessons.load_all(tmp_path)
    assert found == [] and len(problems) == 4
    assert any("lower-case" in p for p in problems) and any("larger than" in p for p in problems)
    assert any("not UTF-8" in p for p in problems) and any("not a regular file" in p for p in problems)
    assert lessons.load_all(tmp_path / "missing")[1][0].startswith("The lessons folder")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=400))
def test_any_text_is_loaded_or_reported_never_raised(tmp_path, text):
    path = tmp_path / "fuzz.toml"
    path.write_text(GOOD[: len(text) % len(GOOD)] + text, encoding="utf-8")
    try:
        lessons.load(path)
    except lessons.LessonError as e:
        assert str(e).startswith("Lesson file fuzz.toml: ")


def test_number_questions_read_in_the_units_people_type():
    q = lessons.Question("?", "best_accuracy", of="a")
    assert lessons.from_typed(q, 97.5) == pytest.approx(0.975) and lessons.typed_unit(q) == "%"
    diff = lessons.Question("?", "best_accuracy", of="a", minus="b")
    assert lessons.from_typed(diff, 0.3) == pytest.approx(0.003)
    assert lessons.format_number(diff, 0.003) == "+0.30 points"
    ratio = lessons.Question("?", "seconds_per_epoch", of="a", ratio_to="b")
    assert lessons.from_typed(ratio, 2) == 2 and lessons.format_number(ratio, 2) == "2.00×"
    assert measures.format_value("seconds_to_98", None) == "not reached"


def _reveal(tmp_path, y):
    """A lesson whose step shows runs a (2 epochs) and b, with b not trained yet, and a's run of 3 epochs."""
    path = tmp_path / "reveal.toml"
    path.write_text(GOOD.replace('show = ["a", "b"]', f'show = ["a", "b"]\ny = {y!r}'.replace("'", '"')))
    lesson = lessons.load(path)
    run = stored_run(RunStore(tmp_path / "runs", None), RunConfig(epochs=3), [0.9, 0.95, 0.97])
    return lessons.reveal_frame(lesson, lesson.steps[0], {"a": run, "b": None})


def test_the_reveal_draws_each_found_run_cut_to_the_lessons_epochs_under_its_lesson_name(tmp_path):
    df, y, title = _reveal(tmp_path, ["test_accuracy"])
    assert (y, title) == ("test_accuracy", "Test accuracy")
    assert list(df["run"]) == ["a", "a"] and list(df["epoch"]) == [1, 2]  # run b is missing: no line
    assert list(df["test_accuracy"]) == [0.9, 0.95]


def test_a_reveal_of_training_and_test_curves_draws_one_line_per_kind(tmp_path):
    df, y, title = _reveal(tmp_path, ["train_loss", "test_loss"])
    assert (y, title) == ("loss", "Train and test loss")
    rows = sorted(zip(df["curve"], df["epoch"], df["loss"].round(3)))
    assert rows == [("test", 1, 0.3), ("test", 2, 0.25), ("train", 1, 0.1), ("train", 2, 0.05)]
    assert set(df["run"]) == {"a"}


def test_lessons_come_from_the_folder_a_teacher_names_or_the_shipped_one(monkeypatch, tmp_path):
    monkeypatch.delenv(lessons.LESSONS_ENV, raising=False)
    assert lessons.folder() == PROJECT_DIR / "lessons"
    monkeypatch.setenv(lessons.LESSONS_ENV, str(tmp_path))
    assert lessons.folder() == tmp_path
    monkeypatch.setenv(lessons.LESSONS_ENV, "")  # set but empty: the shipped lessons
    assert lessons.folder() == PROJECT_DIR / "lessons"
