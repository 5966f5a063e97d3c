"""Lessons: a teacher's guided exercises. Each lesson and step has its own link,
/lessons?lesson=<id>&step=<n>, to put on the board. A step asks for a prediction, may have the student
train a short run, then reveals the chart and the measured answer beside the prediction."""

import streamlit as st

from mnist_core import lessons
from ui import fmt, lesson_step, present

all_lessons, problems = lessons.load_all()  # read on every visit: a teacher's new file appears on reload
by_id = {lesson.id: lesson for lesson in all_lessons}
wanted = st.query_params.get("lesson")


def lesson_list() -> None:
    st.title("Lessons")
    st.markdown("Guided exercises: read, **predict**, run, and see the answer beside your prediction. "
                "Each step has its own link, so a teacher can put one on the board. A teacher adds a lesson by "
                "writing a file in `lessons/` (see `lessons/README.md` there) and reloading this page.")
    for problem in problems:
        st.warning(fmt.plain(problem))
    if not all_lessons:
        st.info(f"No lessons found in {fmt.plain(lessons.folder())}.")
    for lesson in all_lessons:
        with st.container(border=True):
            st.page_link("views/lessons.py", label=lesson.title, icon=":material/school:",
                         query_params={"lesson": lesson.id, "step": "1"})
            st.markdown(lesson.goal)
            st.caption(f"{len(lesson.steps)} steps · " + " · ".join(s.title for s in lesson.steps))


def step_number(lesson) -> int:
    raw = st.query_params.get("step", "1")
    if raw.isdigit() and 1 <= int(raw) <= len(lesson.steps):
        return int(raw)
    st.warning(f"The link's step {fmt.plain(repr(raw)[:40])} is not a step of this lesson (1 to "
               f"{len(lesson.steps)}); showing step 1.")
    return 1


if wanted is None:
    lesson_list()
    st.stop()
if wanted not in by_id:
    st.warning(f"There is no lesson {fmt.plain(repr(wanted)[:60])} here; choose one below.")
    lesson_list()
    st.stop()

lesson = by_id[wanted]
number = step_number(lesson)
step = lesson.steps[number - 1]
# The address is the step's link, to share. Set on every run: a page link to this same page changes the
# lesson and step Streamlit sees without changing the browser's address bar.
st.query_params.update(lesson=lesson.id, step=str(number))

st.page_link("views/lessons.py", label="All lessons", icon=":material/arrow_back:", query_params={})
st.title(lesson.title)
st.caption(lesson.goal)
st.progress(number / len(lesson.steps), text=f"Step {number} of {len(lesson.steps)}")
st.header(step.title, divider="gray")
st.markdown(step.text)
if step.show:
    shown = {name: lesson.runs[name] for name in step.show}
    st.caption("Runs in this step: " + " · ".join(f"**{fmt.plain(name)}** = {fmt.plain(c.label)}, {c.epochs} epochs"
                                                   for name, c in shown.items()))

answered, predicted = lesson_step.prediction(lesson, step, number)
if answered:
    yours = lesson_step.train_panel(lesson, step, number) if step.train else None
    lesson_step.reveal(lesson, step, number, yours, predicted)

back, _, forward = st.columns([1, 2, 1])
if number > 1:
    back.page_link("views/lessons.py", label=f"Step {number - 1}", icon=":material/arrow_back:",
                   query_params={"lesson": lesson.id, "step": str(number - 1)})
if number < len(lesson.steps):
    forward.page_link("views/lessons.py", label=f"Step {number + 1}: {lesson.steps[number].title}",
                      icon=":material/arrow_forward:", query_params={"lesson": lesson.id, "step": str(number + 1)})
else:
    forward.page_link("views/lessons.py", label="Back to all lessons", icon=":material/check:", query_params={})
if present.presenting():
    st.caption("Presenter view: predict with the class, then lock in the class's answer to reveal.")
