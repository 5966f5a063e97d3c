"""Lesson files: every shipped lesson is valid and answerable from the shipped reference runs; a broken
file is one sentence naming it, never an exception."""

import dataclasses
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mnist_core import lessons, measures
from mnist_core.config import ConfigError, RunConfig
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


# --- every sentence a teacher can get, word for word ------------------------------------------------------
# A teacher fixes a lesson file from the sentence alone, so each one must name the place (file, step,
# question) and the problem exactly; these are the whole sentences, not fragments.
RUNS = '[runs.a]\nepochs = 2\n[runs.b]\nbatch_norm = true\nepochs = 2\n'
PICK = 'ask = "Which is better?"\nmeasure = "best_accuracy"\npick = "max"'


def _file(step="", question=PICK, show='show = ["a", "b"]', top='title = "T"\ngoal = "G"', runs=RUNS, more=""):
    q = f"[steps.question]\n{question}\n" if question is not None else ""
    return f'{top}\n{runs}\n[[steps]]\ntitle = "S"\ntext = "Prose."\n{show}\n{step}\n{q}{more}'


def _problem(tmp_path, text) -> str:
    path = tmp_path / "broken.toml"
    path.write_text(text)
    with pytest.raises(lessons.LessonError) as e:
        lessons.load(path)
    message = str(e.value)
    assert message.startswith("Lesson file broken.toml: ") and message.endswith(".")
    return message.removeprefix("Lesson file broken.toml: ")


def _measures() -> str:
    return ", ".join(measures.MEASURES)


SENTENCES = {
    # the file
    "unknown top key": (_file(top='title = "T"\ngoal = "G"\ngoals = 1'),
                        "the file has an unknown key 'goals' (known: goal, order, runs, steps, title)."),
    "no goal": (_file(top='title = "T"'), "the file needs 'goal'."),
    "order as text": (_file(top='title = "T"\ngoal = "G"\norder = "1"'), "order must be a whole number."),
    "order as a truth": (_file(top='title = "T"\ngoal = "G"\norder = true'), "order must be a whole number."),
    "runs not a table": ('title = "T"\ngoal = "G"\nruns = 3\n[[steps]]\ntitle = "S"\ntext = "P"\n',
                         "[runs] must be a table of named settings, like [runs.\"300-100\"]."),
    "run called You": (_file(runs=RUNS + '[runs.You]\nepochs = 1\n'),
                       "the run name 'You' is reserved, empty or longer than 60 characters."),
    "run named blank": (_file(runs=RUNS + '[runs." "]\nepochs = 1\n'),
                        "the run name ' ' is reserved, empty or longer than 60 characters."),
    "run name too long": (_file(runs=RUNS + f'[runs.{"r" * 61}]\nepochs = 1\n'),
                          f"the run name '{'r' * 61}' is reserved, empty or longer than 60 characters."),
    "run not a table": ('title = "T"\ngoal = "G"\nruns = {a = 3}\n[[steps]]\ntitle = "S"\ntext = "P"\n',
                        "run 'a' must be a table of settings."),
    "no steps": ('title = "T"\ngoal = "G"\nsteps = []\n', "it needs at least one [[steps]]."),
    "steps not a list": ('title = "T"\ngoal = "G"\nsteps = 3\n', "it needs at least one [[steps]]."),
    "31 steps": ('title = "T"\ngoal = "G"\n' + '[[steps]]\ntitle = "S"\ntext = "P"\n' * 31,
                 "it has more than 30 steps."),
    "title too long": (_file(top=f'title = "{"t" * 201}"\ngoal = "G"'), "title is longer than 200 characters."),
    "goal too long": (_file(top=f'title = "T"\ngoal = "{"g" * 2001}"'), "goal is longer than 2,000 characters."),
    "blank goal": (_file(top='title = "T"\ngoal = "  "'), "goal must be a non-empty text."),
    # a step
    "step not a table": ('title = "T"\ngoal = "G"\nsteps = [3]\n', "step 1 must be a table."),
    "unknown step key": (_file(step="colour = 1"),
                         "step 1 has an unknown key 'colour' (known: free, question, show, text, title, train, x, y)."),
    "step without text": ('title = "T"\ngoal = "G"\n[[steps]]\ntitle = "S"\n', "step 1 needs 'text'."),
    "second step broken": (_file(more='[[steps]]\ntitle = "S2"\n'), "step 2 needs 'text'."),
    "show numbers": (_file(show="show = [1]"), "step 1's show must be a list of names."),
    "show a table": (_file(show="show = {a = 1}"), "step 1's show must be a list of names."),
    "show unknown run": (_file(show='show = ["a", "c"]'), "step 1 shows run 'c', which is not in [runs]."),
    "train unknown run": (_file(step='train = "z"'), "step 1 trains 'z', which is not a run in [runs]."),
    "train a number": (_file(step="train = 3"), "step 1 trains 3, which is not a run in [runs]."),
    "free numbers": (_file(step='train = "a"\nfree = [1]'), "step 1's free must be a list of names."),
    "free unknown field": (_file(step='train = "a"\nfree = ["seed", "colour"]'), None),
    "free without train": (_file(step='free = ["seed"]'), "step 1 lists free settings but trains no run."),
    "x wall": (_file(step='x = "wall_seconds"'), "step 1's x must be one of epoch, train_seconds."),
    "y unknown": (_file(step='y = ["happiness"]'), None),
    "y empty": (_file(step="y = []"), None),
    "y mixed": (_file(step='y = ["train_loss", "test_accuracy"]'),
                "step 1's y mixes accuracy and loss, which share no axis; choose one kind."),
    "step title too long": (_file().replace('title = "S"', f'title = "{"s" * 201}"'),
                            "step 1's title is longer than 200 characters."),
    "step text blank": (_file().replace('text = "Prose."', 'text = " "'), "step 1's text must be a non-empty text."),
    # its question
    "question not a table": (_file(step="question = 3", question=None), "step 1's question must be a table."),
    "unknown question key": (_file(question=PICK + "\nhint = 1"),
                             "step 1's question has an unknown key 'hint' (known: ask, measure, minus, of, pick, ratio_to)."),
    "no ask": (_file(question='measure = "best_accuracy"\npick = "max"'), "step 1's question needs 'ask'."),
    "unknown measure": (_file(question=PICK.replace("best_accuracy", "happiness")),
                        f"step 1's question measures 'happiness'; known measures: {_measures()}."),
    "nothing to measure": (_file(show="", question='ask = "?"\nmeasure = "best_accuracy"\nof = "a"'),
                           "step 1's question has no runs to measure: give the step show = [...] or train = ...."),
    "pick and of": (_file(question=PICK + '\nof = "a"'),
                    "step 1's question needs either pick = \"min\" or \"max\" (a choice among the step's runs) or "
                    "of = \"<run>\" (a number), not both or neither."),
    "pick best": (_file(question=PICK.replace('"max"', '"best"')), "step 1's question's pick must be \"min\" or \"max\"."),
    "pick of one": (_file(show='show = ["a"]'), "step 1's question picks among fewer than two runs."),
    "pick with ratio": (_file(question=PICK + '\nratio_to = "a"'),
                        "step 1's question: ratio_to and minus go with of, not with pick."),
    "pick with minus": (_file(question=PICK + '\nminus = "a"'),
                        "step 1's question: ratio_to and minus go with of, not with pick."),
    "of unknown": (_file(question='ask = "?"\nmeasure = "best_accuracy"\nof = "c"'),
                   "step 1's question's of names 'c', which the step neither shows nor trains (its runs: a, b)."),
    "ratio_to unknown": (_file(question='ask = "?"\nmeasure = "best_accuracy"\nof = "a"\nratio_to = "z"'),
                         "step 1's question's ratio_to names 'z', which the step neither shows nor trains "
                         "(its runs: a, b)."),
    "minus unknown, with You": (_file(step='train = "a"', show='show = ["b"]',
                                      question='ask = "?"\nmeasure = "best_accuracy"\nof = "b"\nminus = "a"'),
                                "step 1's question's minus names 'a', which the step neither shows nor trains "
                                "(its runs: You, b)."),
    "ratio and minus": (_file(question='ask = "?"\nmeasure = "best_accuracy"\nof = "a"\nratio_to = "b"\nminus = "b"'),
                        "step 1's question has both ratio_to and minus; choose one."),
    "ask blank": (_file(question=PICK.replace('"Which is better?"', '""')),
                  "step 1's question's ask must be a non-empty text."),
    "ask too long": (_file(question=PICK.replace("Which is better?", "w" * 1001)),
                     "step 1's question's ask is longer than 1,000 characters."),
}
# the sentences that list every known setting or curve
SENTENCES["free unknown field"] = (SENTENCES["free unknown field"][0],
                                   "step 1 frees 'colour', which is not a setting (settings: "
                                   + ", ".join(lessons.FIELD_BY_NAME) + ").")
SENTENCES["y unknown"] = (SENTENCES["y unknown"][0],
                          "step 1's y must be one or more of " + ", ".join(lessons.Y_METRICS) + ".")
SENTENCES["y empty"] = (SENTENCES["y empty"][0], SENTENCES["y unknown"][1])
SENTENCES["step text too long"] = (_file().replace('text = "Prose."', f'text = "{"p" * 20_001}"'),
                                   "step 1's text is longer than 20,000 characters.")
SENTENCES["y not names"] = (_file(step="y = [1]"), "step 1's y must be a list of names.")
# a run's bad setting: the settings' own sentence, with its full stop once
with pytest.raises(ConfigError) as _bad:
    RunConfig.from_dict({"epochs": 0})
SENTENCES["run's bad setting"] = (_file(runs=RUNS + "[runs.c]\nepochs = 0\n"), f"run 'c': {_bad.value}")


@pytest.mark.parametrize("case", SENTENCES)
def test_each_problem_is_the_whole_sentence_naming_where_it_is(tmp_path, case):
    text, sentence = SENTENCES[case]
    assert _problem(tmp_path, text) == sentence


def test_the_limits_themselves_are_allowed_and_a_shown_name_may_be_one_text(tmp_path):
    path = tmp_path / "edge.toml"
    path.write_text(_file(top=f'title = "{"t" * 200}"\ngoal = "{"g" * 2000}"\norder = 3', show='show = "a"',
                          question=f'ask = "{"w" * 1000}"\nmeasure = "best_accuracy"\nof = "a"',
                          runs=RUNS + f'[runs.{"r" * 60}]\nepochs = 1\n'))
    lesson = lessons.load(path)
    assert (len(lesson.title), len(lesson.goal), lesson.order) == (200, 2000, 3)
    assert lesson.steps[0].show == ("a",) and len(lesson.steps[0].question.ask) == 1000
    assert "r" * 60 in lesson.runs
    many = tmp_path / "many.toml"
    many.write_text('title = "T"\ngoal = "G"\n' + '[[steps]]\ntitle = " S "\ntext = "P"\n' * 30)
    loaded = lessons.load(many)
    assert len(loaded.steps) == 30 and loaded.steps[0].title == "S"  # texts are stripped
    assert loaded.order == 999 and loaded.steps[0].x == "epoch" and loaded.steps[0].y == ("test_accuracy",)


def test_lessons_are_ordered_by_their_order_then_name_and_at_most_a_hundred_are_read(tmp_path):
    for name, order in (("b", 1), ("a", 1), ("c", 0), ("d", None)):
        top = 'title = "T"\ngoal = "G"' + (f"\norder = {order}" if order is not None else "")
        (tmp_path / f"{name}.toml").write_text(_file(top=top))
    (tmp_path / "notes.txt").write_text("not a lesson")
    found, problems = lessons.load_all(tmp_path)
    assert [lesson.id for lesson in found] == ["c", "a", "b", "d"] and problems == []
    for i in range(lessons.MAX_LESSONS):
        (tmp_path / f"x{i:03}.toml").write_text(_file())
    found, _ = lessons.load_all(tmp_path)
    ids = [lesson.id for lesson in found]  # the first 100 files by name: a-d, then x000-x095
    assert len(ids) == lessons.MAX_LESSONS and "d" in ids and "x095" in ids and "x096" not in ids


# --- answers measured on runs -----------------------------------------------------------------------------
def _lesson(tmp_path, question, step="", show='show = ["a", "b"]'):
    path = tmp_path / "q.toml"
    path.write_text(_file(step=step, show=show, question=question))
    lesson = lessons.load(path)
    return lesson, lesson.steps[0]


@pytest.fixture
def two(tmp_path):
    """Runs a (no BN; 90%, 95%, then 99% beyond the lesson's 2 epochs) and b (BN; 92%, 97%), stored."""
    store = RunStore(tmp_path / "runs", None)
    a = stored_run(store, RunConfig(epochs=3), [0.90, 0.95, 0.99], seconds_per_epoch=0.5)
    b = stored_run(store, RunConfig(batch_norm=True, epochs=2), [0.92, 0.97], seconds_per_epoch=2.0)
    return store, a, b


def test_a_choice_names_the_best_run_with_its_value_and_every_runs_value(tmp_path, two):
    store, a, b = two
    lesson, step = _lesson(tmp_path, PICK)
    found = lessons.step_runs(lesson, step, store.list())
    assert (found["a"].run_id, found["b"].run_id) == (a.run_id, b.run_id)
    best = lessons.answer(lesson, step, found)
    assert (best.value, best.text) == ("b", "b (97.00%)")
    assert best.values == {"a": pytest.approx(0.95), "b": pytest.approx(0.97)}  # a cut to the lesson's 2 epochs
    worst = lessons.answer(*_lesson(tmp_path, PICK.replace('"max"', '"min"')), found)
    assert (worst.value, worst.text) == ("a", "a (95.00%)")
    slowest = lessons.answer(*_lesson(tmp_path, PICK.replace("best_accuracy", "epochs_to_97")), found)
    assert (slowest.value, slowest.text) == ("b", "b (2 epochs)")  # a reaches 97% only at epoch 3
    never = lessons.answer(*_lesson(tmp_path, PICK.replace("best_accuracy", "epochs_to_98")), found)
    assert (never.value, never.text) == (None, "none of them (epochs to reach 98%: not reached)")
    assert lessons.answer(lesson, step, {"a": found["a"], "b": None}) is None  # b not trained yet
    assert lessons.answer(lesson, dataclasses.replace(step, question=None), found) is None


def test_a_number_is_the_runs_measure_its_ratio_or_its_difference(tmp_path, two):
    store, a, b = two
    found = {"a": a, "b": b}
    ask = 'ask = "?"\nmeasure = "{m}"\nof = "{of}"'

    def number(measure, of, extra=""):
        lesson, step = _lesson(tmp_path, ask.format(m=measure, of=of) + extra)
        return lessons.answer(lesson, step, found)

    plain = number("final_accuracy", "a")
    assert (plain.value, plain.text, plain.values) == (pytest.approx(0.95), "95.00%", {"a": pytest.approx(0.95)})
    ratio = number("seconds_per_epoch", "b", '\nratio_to = "a"')
    assert (ratio.value, ratio.text) == (pytest.approx(4.0), "4.00×")
    assert ratio.values == {"b": pytest.approx(2.0), "a": pytest.approx(0.5)}
    diff = number("final_accuracy", "b", '\nminus = "a"')
    assert (diff.value, diff.text) == (pytest.approx(0.02), "+2.00 points")
    behind = number("final_accuracy", "a", '\nminus = "b"')
    assert behind.text == "-2.00 points"
    missing = number("epochs_to_97", "a")
    assert (missing.value, missing.text) == (None, "not measurable (epochs to reach 97% not reached)")
    other_missing = number("epochs_to_97", "b", '\nminus = "a"')
    assert (other_missing.value, other_missing.text) == (None, "not measurable (epochs to reach 97% not reached)")
    subtract_seconds = number("seconds_per_epoch", "b", '\nminus = "a"')
    assert (subtract_seconds.value, subtract_seconds.text) == (pytest.approx(1.5), "1.50 s")


def test_a_ratio_to_a_run_measuring_zero_is_a_dash_not_a_crash(tmp_path):
    store = RunStore(tmp_path / "runs", None)
    a = stored_run(store, RunConfig(epochs=2), [0.9, 0.95], seconds_per_epoch=0.5)
    b = stored_run(store, RunConfig(batch_norm=True, epochs=2), [0.9, 0.95], seconds_per_epoch=0.0)
    lesson, step = _lesson(tmp_path, 'ask = "?"\nmeasure = "seconds_per_epoch"\nof = "a"\nratio_to = "b"')
    result = lessons.answer(lesson, step, {"a": a, "b": b})
    assert (result.value, result.text) == (None, "—")


def test_the_run_standing_for_a_setting_is_a_reference_first_else_the_newest_finished_with_enough_epochs(tmp_path):
    import time

    store = RunStore(tmp_path / "runs", None)
    config = RunConfig(epochs=2)
    short = stored_run(store, RunConfig(epochs=1), [0.9])
    older = stored_run(store, RunConfig(epochs=3), [0.9, 0.91, 0.92])
    time.sleep(1.1)  # created is kept to the second
    newer = stored_run(store, RunConfig(epochs=2), [0.9, 0.93])
    stopped = stored_run(store, RunConfig(epochs=2), [0.9, 0.94], status="stopped")
    other = stored_run(store, RunConfig(epochs=2, batch_norm=True), [0.9, 0.95])
    runs = [short, older, newer, stopped, other]
    assert lessons.find_run(runs, config).run_id == newer.run_id
    assert lessons.find_run([short, stopped, other], config) is None
    assert lessons.find_run(runs, RunConfig(epochs=3)).run_id == older.run_id  # newer has only 2 epochs
    shipped = dataclasses.replace(older, reference=True)
    assert lessons.find_run([*runs, shipped], config) is shipped


def test_the_answer_box_asks_in_the_unit_of_the_measure():
    def q(measure, **kw):
        return lessons.Question("?", measure, of="a", **kw)

    assert [lessons.typed_unit(q(m)) for m in ("best_accuracy", "seconds_per_epoch", "epochs_to_97", "params")] \
        == ["%", "seconds", "epochs", ""]
    assert lessons.typed_unit(q("best_accuracy", minus="b")) == "accuracy points"
    assert lessons.typed_unit(q("best_accuracy", ratio_to="b")) == "times"
    assert lessons.from_typed(q("seconds_per_epoch"), 2.5) == 2.5
    assert lessons.from_typed(q("seconds_per_epoch", minus="b"), 2.5) == 2.5
    assert lessons.from_typed(q("best_accuracy", ratio_to="b"), 1.5) == 1.5
    assert lessons.format_number(q("best_accuracy"), 0.975) == "97.50%"
    assert lessons.format_number(q("best_accuracy"), None) == "—"
    assert lessons.format_number(q("seconds_per_epoch", minus="b"), 1.5) == "1.50 s"
    assert lessons.format_number(q("epochs_to_97", minus="b"), -3) == "-3 epochs"
    assert lessons.format_number(q("overfit_gap", minus="b"), 0.5) == "0.5 points"  # a gap is already points
    assert lessons.from_typed(q("overfit_gap", minus="b"), 0.5) == 0.5
    assert q("best_accuracy").kind == "number" and lessons.Question("?", "best_accuracy", pick="max").kind == "choice"


# --- closing what the second mutation pass found (2026-12-04) ----------------------------------------------
def test_a_file_that_cannot_be_a_lesson_gets_its_whole_sentence(tmp_path):
    (tmp_path / "Bad Name.toml").write_text(GOOD)
    (tmp_path / "huge.toml").write_text("#" * (lessons.MAX_FILE_BYTES + 1))
    (tmp_path / "binary.toml").write_bytes(b"\xff\xfe\x00")
    (tmp_path / "link.toml").symlink_to(tmp_path / "huge.toml")
    # exactly at the size limit is still a lesson
    (tmp_path / "full.toml").write_text(GOOD + "#" * (lessons.MAX_FILE_BYTES - len(GOOD.encode())))
    found, problems = lessons.load_all(tmp_path)
    assert [lesson.id for lesson in found] == ["full"]
    assert sorted(problems) == sorted([
        "Lesson file Bad Name.toml: its name must be lower-case letters, digits and dashes (it becomes the "
        "link's lesson=...), like network-size.toml.",
        "Lesson file huge.toml: it is larger than 64,000 bytes.",
        "Lesson file binary.toml: it is not UTF-8 text.",
        "Lesson file link.toml: it is not a regular file.",
    ])
    missing = tmp_path / "missing"
    assert lessons.load_all(missing) == ([], [f"The lessons folder {missing} cannot be read: No such file or directory."])


def test_an_unexpected_error_reading_a_file_is_a_sentence_with_its_start(tmp_path, monkeypatch):
    path = tmp_path / "odd.toml"
    path.write_text(GOOD)

    def fails(text):
        raise ValueError("v" * 200)

    monkeypatch.setattr(lessons.tomllib, "loads", fails)
    with pytest.raises(lessons.LessonError) as e:
        lessons.load(path)
    assert str(e.value) == f"Lesson file odd.toml: it could not be read ({'v' * 120})."


def test_a_loaded_lesson_keeps_its_file_and_a_steps_free_settings(tmp_path):
    path = tmp_path / "free.toml"
    path.write_text(_file(show='show = ["b"]\ntrain = "a"\nfree = ["seed", "epochs"]'))
    lesson = lessons.load(path)
    assert lesson.path == path and lesson.steps[0].free == ("seed", "epochs")


def test_without_a_folder_named_the_teachers_folder_or_the_installed_copy_is_read(tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text(GOOD)
    monkeypatch.setenv(lessons.LESSONS_ENV, str(tmp_path))
    assert [lesson.id for lesson in lessons.load_all()[0]] == ["mine"]
    monkeypatch.delenv(lessons.LESSONS_ENV)
    monkeypatch.setattr(lessons, "SOURCE_CHECKOUT", False)  # installed from the package
    assert lessons.folder() == Path(lessons.__file__).resolve().parent / "lesson_files"


def test_a_run_with_a_creation_time_is_newer_than_one_without(tmp_path):
    store = RunStore(tmp_path / "runs", None)
    dated = stored_run(store, RunConfig(epochs=2), [0.9, 0.93])
    undated = stored_run(store, RunConfig(epochs=2), [0.9, 0.94])
    undated = dataclasses.replace(undated, data={k: v for k, v in undated.data.items() if k != "created"})
    assert lessons.find_run([undated, dated], RunConfig(epochs=2)) is dated
    assert lessons.find_run([dated, undated], RunConfig(epochs=2)) is dated


def test_your_run_stands_only_for_you(tmp_path, two):
    store, a, b = two
    lesson, step = _lesson(tmp_path, PICK, show='show = ["b"]\ntrain = "a"')
    mine = stored_run(store, RunConfig(epochs=2), [0.5, 0.6])
    found = lessons.step_runs(lesson, step, [a, b], yours=mine)
    assert found[lessons.YOU] is mine and found["b"].run_id == b.run_id


def test_unmeasurable_answers_still_carry_every_runs_value(tmp_path, two):
    store, a, b = two
    found = {"a": a, "b": b}
    never = lessons.answer(*_lesson(tmp_path, PICK.replace("best_accuracy", "epochs_to_98")), found)
    assert never.values == {"a": None, "b": None}
    lesson, step = _lesson(tmp_path, 'ask = "?"\nmeasure = "epochs_to_97"\nof = "a"')
    assert lessons.answer(lesson, step, found).values == {"a": None}
    lesson, step = _lesson(tmp_path, 'ask = "?"\nmeasure = "final_accuracy"\nof = "b"\nminus = "a"')
    assert lessons.answer(lesson, step, found).values == {"b": pytest.approx(0.97), "a": pytest.approx(0.95)}


def test_the_reveal_skips_runs_nobody_trained_wherever_they_are_and_numbers_its_rows(tmp_path, two):
    store, a, b = two
    lesson, step = _lesson(tmp_path, PICK, show='show = ["a", "b"]\ntrain = "a"')
    df, _, _ = lessons.reveal_frame(lesson, step, {lessons.YOU: None, "a": a, "b": b})
    assert list(df["run"]) == ["a", "a", "b", "b"] and list(df.index) == [0, 1, 2, 3]
    df, _, _ = lessons.reveal_frame(lesson, step, {lessons.YOU: a, "a": None, "b": None})
    assert list(df["run"]) == [lessons.YOU, lessons.YOU]  # your run, cut to the trained setting's 2 epochs
    empty, y, _ = lessons.reveal_frame(lesson, step, {lessons.YOU: None, "a": None, "b": None})
    assert len(empty) == 0 and y in empty.columns
    kinds, kinds_step = _lesson(tmp_path, PICK, show='show = ["a", "b"]\ny = ["train_loss", "test_loss"]')
    df, _, _ = lessons.reveal_frame(kinds, kinds_step, {"a": a, "b": b})
    assert list(df.index) == list(range(8))  # 2 runs x 2 epochs x 2 curves, numbered once
