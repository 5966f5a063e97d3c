"""Lessons: a teacher's guided exercise, read from a TOML file in ``lessons/``. Pure Python, no UI.

A lesson has a title, a goal, named runs (settings) and steps. A step has prose, the runs it shows
(matched to stored runs, the shipped reference runs first, so a lesson works before anyone trains),
optionally a run the student trains (with the fields they may change), and optionally a prediction
question asked before the reveal. The question's answer is never typed in: it is measured on the
runs when the step is revealed. The format is described for teachers in ``lessons/README.md``.

Loading never raises: a malformed file becomes one sentence naming the file and the problem, and
the other lessons still load.
"""

from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import pandas as pd

from .compare import Y_METRICS, curves_frame
from .config import FIELD_BY_NAME, ConfigError, RunConfig
from .measures import MEASURES, format_value, measure
from .store import PROJECT_DIR, SOURCE_CHECKOUT, Run

LESSONS_ENV = "MNIST_LESSONS"  # folder of lesson files (default: lessons/ beside app/)
MAX_FILE_BYTES = 64_000
MAX_LESSONS = 100
MAX_STEPS = 30
ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,47}$")
X_AXES = ("epoch", "train_seconds")
YOU = "You"  # the name of the student's own run in a step that trains one


# --- the lesson, as parsed --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Question:
    ask: str
    measure: str
    pick: str | None = None  # "min" or "max": a choice among the step's runs
    of: str | None = None  # a number: the measure of this run...
    ratio_to: str | None = None  # ... divided by this run's ("how many times slower?")
    minus: str | None = None  # ... or minus this run's ("how many points lost?")

    @property
    def kind(self) -> str:
        return "choice" if self.pick else "number"

    @property
    def unit(self) -> str:
        """The unit of the answer: a ratio has none ("×"), a difference of percentages is in points."""
        if self.ratio_to:
            return "×"
        if self.minus and MEASURES[self.measure].unit == "%":
            return "points"
        return MEASURES[self.measure].unit


@dataclass(frozen=True)
class Step:
    title: str
    text: str
    show: tuple[str, ...] = ()  # names of the lesson's runs overlaid in the reveal
    train: str | None = None  # name of the run the student trains (shown as "You")
    free: tuple[str, ...] = ()  # the fields the student may change before training it
    x: str = "epoch"
    y: tuple[str, ...] = ("test_accuracy",)
    question: Question | None = None

    @property
    def runs(self) -> tuple[str, ...]:
        """Every run name the reveal draws, the student's first."""
        return ((YOU,) if self.train else ()) + self.show


@dataclass(frozen=True)
class Lesson:
    id: str
    title: str
    goal: str
    order: int
    runs: Mapping[str, RunConfig]
    steps: tuple[Step, ...]
    path: Path = field(compare=False)

    def config(self, step: Step, name: str) -> RunConfig:
        return self.runs[step.train] if name == YOU else self.runs[name]


class LessonError(ValueError):
    """A lesson file is malformed; the message says where and what."""


# --- loading ----------------------------------------------------------------------------------------------
def folder() -> Path:
    """lessons/ in a source checkout; installed, the copy packaged inside mnist_core (pyproject.toml)."""
    shipped = PROJECT_DIR / "lessons" if SOURCE_CHECKOUT else Path(__file__).resolve().parent / "lesson_files"
    return Path(os.environ.get(LESSONS_ENV) or shipped)


def load_all(where: str | os.PathLike | None = None) -> tuple[list[Lesson], list[str]]:
    """Every lesson in the folder, in order, and one sentence per file that could not be read."""
    root = Path(where) if where is not None else folder()
    lessons, problems = [], []
    try:
        files = sorted(p for p in root.iterdir() if p.suffix == ".toml")[:MAX_LESSONS]
    except OSError as e:
        return [], [f"The lessons folder {root} cannot be read: {e.strerror or e}."]
    for path in files:
        try:
            lessons.append(load(path))
        except LessonError as e:
            problems.append(str(e))
    lessons.sort(key=lambda lesson: (lesson.order, lesson.id))
    return lessons, problems


def load(path: Path) -> Lesson:
    """One lesson file, checked through; any problem is a LessonError naming the file."""
    name = path.name
    try:
        if path.is_symlink() or not path.is_file():
            raise LessonError("it is not a regular file")
        if path.stat().st_size > MAX_FILE_BYTES:
            raise LessonError(f"it is larger than {MAX_FILE_BYTES:,} bytes")
        if not ID_RE.match(path.stem):
            raise LessonError("its name must be lower-case letters, digits and dashes (it becomes the link's "
                              "lesson=...), like network-size.toml")
        try:
            raw = tomllib.loads(path.read_bytes().decode("utf-8"))
        except UnicodeDecodeError:
            raise LessonError("it is not UTF-8 text") from None
        except tomllib.TOMLDecodeError as e:
            raise LessonError(f"it is not valid TOML ({e})") from None
        return _lesson(path, raw)
    except LessonError as e:
        raise LessonError(f"Lesson file {name}: {e}.") from None
    except (OSError, RecursionError, ValueError, TypeError) as e:  # belt and braces: never a traceback
        raise LessonError(f"Lesson file {name}: it could not be read ({str(e)[:120]}).") from None


def _keys(table: Mapping, where: str, allowed: set[str], required: set[str]) -> None:
    unknown = sorted(set(table) - allowed)
    if unknown:
        raise LessonError(f"{where} has an unknown key {unknown[0]!r} (known: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(table))
    if missing:
        raise LessonError(f"{where} needs {missing[0]!r}")


def _text(value: Any, where: str, limit: int = 20_000) -> str:
    if not isinstance(value, str) or not value.strip():
        raise LessonError(f"{where} must be a non-empty text")
    if len(value) > limit:
        raise LessonError(f"{where} is longer than {limit:,} characters")
    return value.strip()


def _names(value: Any, where: str) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise LessonError(f"{where} must be a list of names")
    return tuple(value)


def _lesson(path: Path, raw: dict) -> Lesson:
    _keys(raw, "the file", {"title", "goal", "order", "runs", "steps"}, {"title", "goal", "steps"})
    order = raw.get("order", 999)
    if isinstance(order, bool) or not isinstance(order, int):
        raise LessonError("order must be a whole number")
    runs = {}
    table = raw.get("runs", {})
    if not isinstance(table, dict):
        raise LessonError("[runs] must be a table of named settings, like [runs.\"300-100\"]")
    for run_name, settings in table.items():
        if run_name == YOU or not run_name.strip() or len(run_name) > 60:
            raise LessonError(f"the run name {run_name!r} is reserved, empty or longer than 60 characters")
        if not isinstance(settings, dict):
            raise LessonError(f"run {run_name!r} must be a table of settings")
        try:
            runs[run_name] = RunConfig.from_dict(settings)
        except (ConfigError, TypeError) as e:
            raise LessonError(f"run {run_name!r}: {str(e).rstrip('.')}") from None
    steps = raw["steps"]
    if not isinstance(steps, list) or not steps:
        raise LessonError("it needs at least one [[steps]]")
    if len(steps) > MAX_STEPS:
        raise LessonError(f"it has more than {MAX_STEPS} steps")
    return Lesson(path.stem, _text(raw["title"], "title", 200), _text(raw["goal"], "goal", 2000), order, runs,
                  tuple(_step(s, i, runs) for i, s in enumerate(steps, 1)), path)


def _step(raw: Any, number: int, runs: Mapping[str, RunConfig]) -> Step:
    where = f"step {number}"
    if not isinstance(raw, dict):
        raise LessonError(f"{where} must be a table")
    _keys(raw, where, {"title", "text", "show", "train", "free", "x", "y", "question"}, {"title", "text"})
    show = _names(raw.get("show", []), f"{where}'s show")
    for name in show:
        if name not in runs:
            raise LessonError(f"{where} shows run {name!r}, which is not in [runs]")
    train = raw.get("train")
    if train is not None and (not isinstance(train, str) or train not in runs):
        raise LessonError(f"{where} trains {train!r}, which is not a run in [runs]")
    free = _names(raw.get("free", []), f"{where}'s free")
    for name in free:
        if name not in FIELD_BY_NAME:
            raise LessonError(f"{where} frees {name!r}, which is not a setting (settings: {', '.join(FIELD_BY_NAME)})")
    if free and not train:
        raise LessonError(f"{where} lists free settings but trains no run")
    x = raw.get("x", "epoch")
    if x not in X_AXES:
        raise LessonError(f"{where}'s x must be one of {', '.join(X_AXES)}")
    y = _names(raw.get("y", ["test_accuracy"]), f"{where}'s y")
    if not y or any(m not in Y_METRICS for m in y):
        raise LessonError(f"{where}'s y must be one or more of {', '.join(Y_METRICS)}")
    if len({m.split("_")[1] for m in y}) > 1:
        raise LessonError(f"{where}'s y mixes accuracy and loss, which share no axis; choose one kind")
    step = Step(_text(raw["title"], f"{where}'s title", 200), _text(raw["text"], f"{where}'s text"), show, train,
                free, x, y)
    if "question" in raw:
        step = Step(**{**step.__dict__, "question": _question(raw["question"], where, step)})
    return step


def _question(raw: Any, where: str, step: Step) -> Question:
    where = f"{where}'s question"
    if not isinstance(raw, dict):
        raise LessonError(f"{where} must be a table")
    _keys(raw, where, {"ask", "measure", "pick", "of", "ratio_to", "minus"}, {"ask", "measure"})
    if raw["measure"] not in MEASURES:
        raise LessonError(f"{where} measures {raw['measure']!r}; known measures: {', '.join(MEASURES)}")
    names = step.runs
    if not names:
        raise LessonError(f"{where} has no runs to measure: give the step show = [...] or train = ...")
    if ("pick" in raw) == ("of" in raw):
        raise LessonError(f"{where} needs either pick = \"min\" or \"max\" (a choice among the step's runs) "
                          f"or of = \"<run>\" (a number), not both or neither")
    if "pick" in raw:
        if raw["pick"] not in ("min", "max"):
            raise LessonError(f"{where}'s pick must be \"min\" or \"max\"")
        if len(names) < 2:
            raise LessonError(f"{where} picks among fewer than two runs")
        if "ratio_to" in raw or "minus" in raw:
            raise LessonError(f"{where}: ratio_to and minus go with of, not with pick")
    for key in ("of", "ratio_to", "minus"):
        if key in raw and raw[key] not in names:
            raise LessonError(f"{where}'s {key} names {raw[key]!r}, which the step neither shows nor trains "
                              f"(its runs: {', '.join(names)})")
    if "ratio_to" in raw and "minus" in raw:
        raise LessonError(f"{where} has both ratio_to and minus; choose one")
    return Question(_text(raw["ask"], f"{where}'s ask", 1000), raw["measure"], raw.get("pick"), raw.get("of"),
                    raw.get("ratio_to"), raw.get("minus"))


# --- finding the runs a step shows, and the answer -------------------------------------------------------
def find_run(runs: Sequence[Run], config: RunConfig) -> Run | None:
    """A stored run of these settings with at least ``config.epochs`` epochs: a shipped reference run
    first (the same for everyone), else the newest finished one. Its curves are cut to the epochs asked."""
    want = config.settings_hash()
    matches = [r for r in runs if r.status == "finished" and len(r.history) >= config.epochs
               and r.data.get("settings_hash") == want]
    return max(matches, key=lambda r: (r.reference, str(r.data.get("created", ""))), default=None)


def step_runs(lesson: Lesson, step: Step, stored: Sequence[Run], yours: Run | None = None) -> dict[str, Run | None]:
    """Each run name of the step with the stored run that stands for it (None: nobody has trained it yet).
    The student's own run, if given, stands for "You"; else a stored run of the step's settings does."""
    out: dict[str, Run | None] = {}
    for name in step.runs:
        out[name] = yours if name == YOU and yours is not None else find_run(stored, lesson.config(step, name))
    return out


@dataclass(frozen=True)
class Answer:
    value: float | str | None  # a number, or the name of the run picked
    text: str  # how it reads: "300-100 (15.5 s)" or "1.09×"
    values: dict[str, float | None]  # the measure on each run, for the reveal's table


def answer(lesson: Lesson, step: Step, found: Mapping[str, Run | None]) -> Answer | None:
    """The question's answer measured on the step's runs, or None while a run it needs is missing."""
    q = step.question
    if q is None:
        return None
    names = step.runs if q.pick else [n for n in (q.of, q.ratio_to, q.minus) if n]
    if any(found.get(n) is None for n in names):
        return None
    values = {n: measure(q.measure, found[n], lesson.config(step, n).epochs) for n in names}
    if q.pick:
        reached = {n: v for n, v in values.items() if v is not None}
        if not reached:
            return Answer(None, f"none of them ({MEASURES[q.measure].label}: not reached)", values)
        best = (min if q.pick == "min" else max)(reached, key=reached.get)
        return Answer(best, f"{best} ({format_value(q.measure, reached[best])})", values)
    value = values[q.of]
    other = values.get(q.ratio_to or q.minus or "")
    if value is None or ((q.ratio_to or q.minus) and other is None):
        return Answer(None, "not measurable (" + MEASURES[q.measure].label + " not reached)", values)
    if q.ratio_to:
        value = value / other if other else None
        return Answer(value, "—" if value is None else f"{value:.2f}×", values)
    if q.minus:
        value = value - other
        return Answer(value, format_number(q, value), values)
    return Answer(value, format_value(q.measure, value), values)


def format_number(q: Question, value: float | None) -> str:
    """A number answer (measured or predicted) in the question's unit."""
    if value is None:
        return "—"
    if q.unit == "×":
        return f"{value:.2f}×"
    if q.unit == "points" and q.minus and MEASURES[q.measure].unit == "%":
        return f"{value * 100:+.2f} points"
    return format_value(q.measure, value)


def from_typed(q: Question, typed: float) -> float:
    """What a student types to the stored scale: 97.5 (percent) is 0.975; a difference of percentages
    typed in points (0.3) is 0.003; anything else is taken as typed."""
    if q.unit == "%" or (q.unit == "points" and q.minus and MEASURES[q.measure].unit == "%"):
        return typed / 100
    return typed


def typed_unit(q: Question) -> str:
    """The unit the number box asks for."""
    return {"%": "%", "points": "accuracy points", "×": "times", "s": "seconds", "epochs": "epochs"}.get(q.unit, "")


def reveal_frame(lesson: Lesson, step: Step, found: Mapping[str, Run | None]) -> tuple[pd.DataFrame, str, str]:
    """The reveal's overlay: every found run's curves cut to the step's epochs, named as in the lesson.
    Returns (frame, y column, y title); with several y metrics each run has one line per metric, told
    apart by the column "curve" ("train", "test")."""
    frames = []
    for name, run in found.items():
        if run is None:
            continue
        cut = dataclasses.replace(run, data={**run.data, "history": run.history[:lesson.config(step, name).epochs]})
        df = curves_frame([cut])
        df["run"] = name
        frames.append(df)
    df = pd.concat(frames, ignore_index=True) if frames else curves_frame([])
    if len(step.y) == 1:
        return df, step.y[0], Y_METRICS[step.y[0]]
    kind = step.y[0].split("_")[1]  # "accuracy" or "loss"
    parts = [df.assign(curve=m.split("_")[0], **{kind: df[m]}) for m in step.y]
    title = " and ".join(Y_METRICS[m].split()[0].lower() for m in step.y).capitalize() + f" {kind}"
    return pd.concat(parts, ignore_index=True), kind, title
