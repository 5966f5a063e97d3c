"""Class: every run on this server in a time window, best accuracy against what it cost, with the Pareto
front (the best accuracy for each budget) and the settings behind the best results. Click a point to
open the run."""

import datetime as dt

import streamlit as st

from mnist_core import classroom
from mnist_core.config import FIELD_BY_NAME
from ui import charts, services

WINDOWS = {"last hour": 1, "last 2 hours": 2, "last 6 hours": 6, "last 24 hours": 24, "last week": 24 * 7,
           "all time": None}

st.title("The class's results")
st.markdown("Every run trained on this server in the chosen window, as one point: its best test accuracy "
            "against its training time (or its size). The dashed line is the **Pareto front**: the best "
            "accuracy anyone reached for each budget. Grey points are the shipped reference runs. "
            "Hover for the run, click it to open its details.")
left, middle, right = st.columns(3)
window = left.selectbox("Runs from the", list(WINDOWS), index=1, key="class_window")
x = middle.segmented_control("Against", list(classroom.X_CHOICES), format_func=classroom.X_CHOICES.get,
                             default="train_seconds", key="class_x") or "train_seconds"
colour = right.selectbox("Colour by", list(FIELD_BY_NAME), format_func=lambda n: FIELD_BY_NAME[n].label,
                         index=list(FIELD_BY_NAME).index("optimizer"), key="class_colour")

hours = WINDOWS[window]
since = None if hours is None else dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours)
df = classroom.frame(services.store().list(), since)
class_runs = df[~df["reference"]]
if class_runs.empty:
    st.info(f"No runs from the {window} yet: the grey points are the reference runs. Runs appear here as "
            f"soon as their first epoch is stored.")

chart = charts.class_scatter(df, classroom.pareto(class_runs, x), x, classroom.X_CHOICES[x], colour,
                             FIELD_BY_NAME[colour].label)
event = st.altair_chart(chart, on_select="rerun", selection_mode="run", key="class_chart")
picked = (event.selection.get("run") or []) if event else []
if picked and picked[0].get("run_id"):
    st.switch_page("views/details.py", query_params={"run": str(picked[0]["run_id"])})
st.caption(f"{len(class_runs)} runs from the {window}, {int(df['reference'].sum())} reference runs.")

st.subheader("Settings that gave the best results")
best = classroom.best_settings(class_runs if not class_runs.empty else df)
st.dataframe(
    best.assign(link="details?run=" + best["run_id"]), hide_index=True,
    column_order=["name", "best_accuracy", "train_seconds", "epochs_done",
                  *[c for c in best.columns if c in FIELD_BY_NAME], "link"],
    column_config={"name": st.column_config.TextColumn("Run"),
                   "best_accuracy": st.column_config.NumberColumn("Best test", format="percent"),
                   "train_seconds": st.column_config.NumberColumn("Training s", format="%.1f"),
                   "epochs_done": "Epochs",
                   **{n: FIELD_BY_NAME[n].label for n in FIELD_BY_NAME},
                   "link": st.column_config.LinkColumn("Open", display_text="details")})
st.caption("Only the settings that differ among these runs are listed"
           + (" (the reference runs: nobody has trained in this window yet)." if class_runs.empty else "."))
