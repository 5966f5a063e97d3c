"""One step of a lesson: predict, (train,) reveal.

The prediction is asked first; the chart and the measured answer stay hidden until the student has
answered (or skipped). A step that trains shows only the settings the lesson frees; the rest are fixed
at the lesson file's values on the server, so nothing in the URL or the browser changes them.
Prose is the teacher's file and is rendered as Markdown; run names, predictions and anything
from the URL are shown as text.
"""

from __future__ import annotations

import streamlit as st

from mnist_core import lessons
from mnist_core.config import FIELD_BY_NAME as F
from mnist_core.lessons import YOU, Lesson, Step
from mnist_core.limits import LimitError
from mnist_core.measures import MEASURES, format_value
from mnist_core.store import MAX_NAME, StoreError

from . import controls, fmt, identity, live, services


def _key(kind: str, lesson: Lesson, number: int) -> str:
    return f"lesson_{kind}_{lesson.id}_{number}"


# --- the prediction -------------------------------------------------------------------------------------
def prediction(lesson: Lesson, step: Step, number: int) -> tuple[bool, object]:
    """Ask the question (once); return (answered or skipped, the prediction or None)."""
    q, key = step.question, _key("prediction", lesson, number)
    if q is None:
        return True, None
    if key in st.session_state:
        return True, st.session_state[key]
    with st.container(border=True):
        st.markdown(f"**Predict before you look:** {q.ask}")
        with st.form(key + "_form"):
            if q.kind == "choice":
                typed = st.radio("Your prediction", list(step.runs), index=None, key=key + "_choice")
            else:
                typed = st.number_input(f"Your prediction ({lessons.typed_unit(q)})", value=None, step=0.1,
                                        format="%g", key=key + "_number")
            left, right = st.columns(2)
            submit = left.form_submit_button("Lock in my prediction", type="primary")
            skip = right.form_submit_button("Skip the question")
        if submit and typed is None:
            st.warning("Choose or type a prediction first, or skip the question.")
        elif submit or skip:
            st.session_state[key] = None if skip else (typed if q.kind == "choice" else lessons.from_typed(q, typed))
            st.rerun()
    return False, None


# --- the student's run -------------------------------------------------------------------------------------
def train_panel(lesson: Lesson, step: Step, number: int) -> object | None:
    """The run this step has the student train; returns their stored run once it has finished."""
    s, run_key = st.session_state, _key("run", lesson, number)
    config = lesson.runs[step.train]
    if s.get("_lesson_controls_for") != (lesson.id, number):  # entering the step: its settings in the controls
        controls.set_state(config)
        s["_lesson_controls_for"] = (lesson.id, number)
    access = controls.Access(hide=set(F) - set(step.free), fixed=config)
    with st.container(border=True):
        st.markdown("**Your run**")
        free = ", ".join(F[n].label for n in step.free)
        st.caption(f"The lesson sets: {config.label}, {config.epochs} epochs, {config.train_examples:,} "
                   f"training examples." + (f" You may change: {free}." if free else ""))
        chosen, problem = config, None
        if step.free:
            chosen, problem = controls.render(services.fashion_available(), controls.variance_curve, access,
                                              caption_hidden=False)
        if problem:
            st.error(problem)
        name = st.text_input("Name on your run (optional; the class sees it on the Class page)",
                             max_chars=MAX_NAME, key=_key("name", lesson, number))
        if st.button("Train", type="primary", disabled=chosen is None, key=run_key + "_train"):
            try:  # the run is this browser's, within the server's limits like any other
                job = services.queue().submit(chosen, name=name.strip() or None, tags=[f"lesson {lesson.id}"],
                                              by=identity.actor())
                s[run_key] = job.run_id
            except LimitError as e:
                st.error(fmt.plain(e))
        if s.get(run_key):
            live.show(s[run_key])
    if not s.get(run_key):
        return None
    try:
        run = services.store().get(s[run_key])
    except StoreError:
        return None
    return run if run.status == "finished" else None


# --- the reveal ----------------------------------------------------------------------------------------------
def reveal(lesson: Lesson, step: Step, number: int, yours, predicted) -> None:
    """The overlay of the step's runs, the measured answer and the prediction beside it."""
    from . import charts

    found = lessons.step_runs(lesson, step, services.store().list(), yours)
    missing = [n for n, r in found.items() if r is None]
    if step.train and found.get(YOU) is None:
        st.info("Train your run above: the answer is measured on it when it finishes.")
        return
    if missing:
        st.info(f"Nobody on this server has trained {', '.join(fmt.plain(m) for m in missing)} yet "
                f"({'; '.join(lesson.config(step, m).label for m in missing)}); train it on the Train page.")
    if len(missing) == len(found):
        return
    st.subheader("The reveal")
    q = step.question
    if q is not None:
        result = lessons.answer(lesson, step, found)
        measured = result.text if result else "—"
        left, right = st.columns(2)
        left.metric(f"Measured: {MEASURES[q.measure].label}" + _of(q), measured)
        if predicted is None:
            right.metric("Your prediction", "skipped")
        else:
            right.metric("Your prediction", str(predicted) if q.kind == "choice" else lessons.format_number(q, predicted),
                         delta=_verdict(q, predicted, result), delta_color="off", delta_arrow="off")
        if q.kind == "choice" and result:
            st.dataframe({"Run": list(result.values),
                          MEASURES[q.measure].label.capitalize(): [format_value(q.measure, v)
                                                                   for v in result.values.values()]},
                         hide_index=True)
    frame, y, title = lessons.reveal_frame(lesson, step, found)
    st.altair_chart(charts.overlay(frame, step.x, y, y_title=title), key=_key("chart", lesson, number))
    st.caption(" · ".join(f"{fmt.plain(name)}: {_source(run)}" for name, run in found.items() if run is not None))


def _of(q) -> str:
    """Which runs a number answer is measured on: " of You", ", nesterov − adam", ", BN ÷ plain"."""
    if q.ratio_to:
        return fmt.say(", {} ÷ {}", q.of, q.ratio_to)
    if q.minus:
        return fmt.say(", {} − {}", q.of, q.minus)
    return fmt.say(" of {}", q.of) if q.of else ""


def _verdict(q, predicted, result) -> str | None:
    if result is None or result.value is None:
        return None
    if q.kind == "choice":
        return "right" if predicted == result.value else "not this time"
    off = abs(predicted - result.value)
    if q.unit == "%":
        return f"off by {off * 100:.2f} points"
    return f"off by {lessons.format_number(q, off).lstrip('+')}"


def _source(run) -> str:
    if run.reference:
        return "shipped reference run"
    return f"run {run.run_id[-6:]} ({fmt.plain(run.display_name)})"
