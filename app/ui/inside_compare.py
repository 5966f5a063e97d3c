"""Compare, inside: two runs' first-layer weight pictures or hidden spaces side by side at one epoch, from
their snapshots (mnist_core/snapshots.py). A fragment: moving its epoch slider redraws only this part."""

from __future__ import annotations

import streamlit as st

from mnist_core import compare, snapshots
from ui import fmt, inside, inside_charts, services

UNITS_SHOWN = 100
VIEWS = {"weights": "Weight pictures", "hidden": "Hidden space"}


def _dataset(name: str):
    """The runs' dataset for tooltips and the blank-pixel mask, or None (the views work without it)."""
    if services.dataset_state(name)[0] != "ready":
        return None
    try:
        return services.dataset(name)
    except Exception:  # noqa: BLE001 - DataError; the views say nothing about it and draw without
        return None


def _pick_epoch(common: list[int]) -> int:
    state = st.session_state
    if state.get("compare_inside_epoch") not in common:
        state["compare_inside_epoch"] = common[-1]
    return st.select_slider("Epoch", options=common, key="compare_inside_epoch",
                            help="Epochs both runs kept a snapshot of (1, 2, 3, 5, 8, 13, 20, 30, 45, 60, ...).")


@st.fragment
def section(chosen: list) -> None:
    st.header("Inside two runs, side by side", divider="gray")
    kept = [r for r in chosen if snapshots.epochs_stored(r.path)]
    if len(kept) < 2:
        st.caption("Select two runs that kept snapshots of their insides to put their weight pictures or hidden "
                "spaces side by side at one epoch. Runs trained before snapshots existed (the shipped "
                "reference runs too) have none; " + (f"{len(kept)} of the selected runs has them."
                                                     if len(chosen) > 1 else "select another run."))
        return
    left, middle, right = st.columns([2, 2, 2])
    first = left.selectbox("Left", kept, index=0, format_func=compare.run_label, key="compare_inside_a")
    second = middle.selectbox("Right", kept, index=1, format_func=compare.run_label, key="compare_inside_b")
    view = right.segmented_control("Show", list(VIEWS), format_func=VIEWS.get, default="weights",
                                   key="compare_inside_view") or "weights"
    (snaps_a, problems_a), (snaps_b, problems_b) = inside.load(first), inside.load(second)
    for run, problems in ((first, problems_a), (second, problems_b)):
        if problems:
            st.caption(fmt.say("Some snapshots of {} were skipped: {}", run.display_name, problems[0]))
    common = sorted(set(snaps_a) & set(snaps_b))
    if not common:
        st.info("These two runs have no epoch in common with a readable snapshot; pick others.")
        return
    epoch = _pick_epoch(common)
    sort = None
    if view == "weights":
        sort = st.selectbox("Order", list(inside_charts.SORTS), key="compare_inside_sort")
        st.caption(f"Each picture is one first-layer unit's weights on the pixels (red positive, blue negative), the "
                   f"first {UNITS_SHOWN} in this order. Grey pixels are blank in nearly every training image.")
    else:
        st.caption("The last hidden layer on the same 2,000 test images, in two dimensions; colour is the true "
                   "digit, crosses are mistakes. Hover a point to see its digit.")
        st.html(inside_charts.TOOLTIP_STYLE)
    cols = st.columns(2)
    for col, run, snaps, side in ((cols[0], first, snaps_a, "a"), (cols[1], second, snaps_b, "b")):
        snap = snaps[epoch]
        ds = _dataset(run.config.dataset)
        wrong = int(snap["confusion"].sum() - snap["confusion"].trace())
        col.markdown(fmt.say("**{}**", run.display_name))
        col.caption(f"{fmt.plain(run.config.label)} · epoch {epoch}: {wrong:,} of {int(snap['confusion'].sum()):,} "
                    f"test images wrong")
        if view == "weights":
            blank = None if ds is None else inside._blank_pixels(ds, ds.name)
            inside._draw(col, inside_charts.weight_grid(snap, sort, UNITS_SHOWN, blank, columns=10),
                         f"compare_inside_weights_{side}", width="content")  # square cells, not stretched
        else:
            inside._draw(col, inside_charts.hidden_space(snap, inside.sample_urls(ds, snap["sample_ids"]),
                                                         inside_charts.hidden_frame(snaps)),
                         f"compare_inside_hidden_{side}")
