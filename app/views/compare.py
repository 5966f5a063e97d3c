"""Compare: every stored run in a table; select some to overlay their curves and see how they differ."""

import streamlit as st

from mnist_core import access, compare
from mnist_core.record import STATUSES
from mnist_core.store import StoreError
from ui import charts, fmt, identity, inside_compare, present, services

st.title("Compare runs")
store = services.store()
warnings: list[str] = []
runs = store.list(warnings)
if warnings:
    with st.expander(f"{len(warnings)} run folder(s) could not be read and are not listed"):
        for w in warnings:
            st.text(w)
if not runs:
    st.info("No runs yet. Train one on the Train page, or with `python -m mnist_core train`.")
    st.stop()

# --- the table ------------------------------------------------------------------------------------
table = compare.runs_table(runs)
c1, c2, c3 = st.columns([3, 3, 2])
text = c1.text_input("Filter", placeholder="e.g. elu BN, adam, a tag...", max_chars=200)
statuses = c2.multiselect("Status", STATUSES, default=[s for s in STATUSES if s in set(table["status"])])
with_reference = c3.toggle("Reference runs", value=True, help="Runs shipped with the project (read-only).")
view = compare.filter_table(table, text, statuses, with_reference).reset_index(drop=True)

kinds = {r.run_id: identity.kind(r) for r in runs}
shown = view.assign(kind=view["run_id"].map(kinds))
# The selection lives in the URL too (?runs=id,id), so a comparison can be shared as a link.
linked = [r for r in st.query_params.get("runs", "").split(",") if r]
default_rows = [i for i, run_id in enumerate(view["run_id"]) if run_id in linked]
picked = st.dataframe(
    shown, key="runs", on_select="rerun", selection_mode="multi-row", hide_index=True,
    height=min(420, 38 + 35 * max(len(shown), 1)),
    selection_default={"selection": {"rows": default_rows}},
    column_order=["label", "kind", "status", "hidden", "activation", "batch_norm", "pca", "optimizer",
                  "learning_rate", "batch_size", "epochs", "best_test_accuracy", "final_test_accuracy",
                  "epochs_to_97", "seconds_to_97", "epochs_to_98", "seconds_to_98", "seconds_per_epoch",
                  "params", "tags", "created"],
    column_config={
        "label": st.column_config.TextColumn("Run", width="medium"),
        "kind": st.column_config.TextColumn("Kind", help="reference: shipped with the project; yours: started "
                                            "in this browser; another browser: someone else's run"),
        "status": "Status", "hidden": "Hidden", "activation": "Activation", "optimizer": "Optimizer",
        "tags": "Tags",
        "batch_norm": st.column_config.CheckboxColumn("BN"),
        "pca": "PCA", "learning_rate": st.column_config.NumberColumn("lr", format="%g"),
        "batch_size": "Batch", "epochs": "Epochs",
        "best_test_accuracy": st.column_config.NumberColumn("Best test", format="percent"),
        "final_test_accuracy": st.column_config.NumberColumn("Final test", format="percent"),
        "epochs_to_97": "Ep→97%", "seconds_to_97": st.column_config.NumberColumn("s→97%", format="%.1f"),
        "epochs_to_98": "Ep→98%", "seconds_to_98": st.column_config.NumberColumn("s→98%", format="%.1f"),
        "seconds_per_epoch": st.column_config.NumberColumn("s/epoch", format="%.2f"),
        "params": st.column_config.NumberColumn("Params", format="localized"),
        "created": st.column_config.DatetimeColumn("Created", format="YYYY-MM-DD HH:mm"),
    })
# A selection is row numbers of the table as it was drawn: after a delete the table is shorter, so rows
# past its end are dropped, not looked up.
chosen_ids = view.iloc[[i for i in picked.selection.rows if 0 <= i < len(view)]]["run_id"].tolist()
chosen = [r for r in runs if r.run_id in set(chosen_ids)]
if chosen_ids != linked:
    if chosen_ids:
        st.query_params["runs"] = ",".join(chosen_ids)
    else:
        st.query_params.pop("runs", None)
st.caption(f"{len(view)} of {len(runs)} runs shown. Tick rows to compare them; click a column header to sort.")

if not chosen:
    st.info("Select runs in the table to overlay their curves.")
    st.stop()

for r in chosen:
    if r.status == "diverged":  # its curve is a wreck, not a finding: say why, and what to try
        st.warning(fmt.plain(f"{r.display_name} diverged: {r.data.get('reason') or 'its loss exploded'}. "
                             f"Its curve shows a learning rate that is too high, not what its settings can do."))

# --- the overlay ----------------------------------------------------------------------------------
c1, c2, c3 = st.columns([3, 2, 2])
x = c1.segmented_control("X axis", list(compare.X_AXES), format_func=compare.X_AXES.get, key="x_axis",
                         default="epoch") or "epoch"
y = c2.selectbox("Y axis", list(compare.Y_METRICS), format_func=compare.Y_METRICS.get, key="y_axis")
smoothing = c3.slider("Smoothing", 0.0, 0.95, 0.0, 0.05, key="smoothing",
                      help="TensorBoard's smoothing: a debiased exponential moving average.")
c4, c5, c6, _ = st.columns([1, 1, 1, 3])
log_y = c4.toggle("Log y", key="log_y")
side = c5.toggle("Side by side", key="side_by_side")
groups = c6.toggle("Seed groups", key="groups", help="Show runs trained with 'Repeat with seeds' as their mean "
                   "with a min-max band, so a difference smaller than the seed noise shows as such.")

chart_col, diff_col = st.columns([3, 2]) if not side else (st.container(), st.container())
if groups:
    chart_col.altair_chart(charts.band(compare.band_frame(chosen, runs, y, smoothing), x, y, log_y))
else:
    chart_col.altair_chart(charts.overlay(compare.curves_frame(chosen, smoothing), x, y, log_y, side))
if (difference := compare.group_difference(chosen, runs)) is not None:
    chart_col.caption(fmt.plain(difference))  # labels come from run.json: shown as text
with diff_col:
    st.markdown("**Settings that differ**")
    diff = compare.settings_diff(chosen)
    if len(chosen) < 2:
        st.caption("Select two or more runs to see how their settings differ.")
    elif diff.empty:
        st.caption("The selected runs have identical settings (different runs of the same config).")
    else:
        st.table(diff.rename(columns=fmt.plain))  # st.table renders Markdown, even in headers
    for r in chosen[:6]:
        st.page_link("views/details.py", label=f"Details: {fmt.plain(r.display_name)}", icon=":material/troubleshoot:",
                     query_params={"run": r.run_id})
    st.download_button("Download curves (CSV)", compare.curves_csv(chosen), file_name="mnist-curves.csv",
                       mime="text/csv", help="Every epoch of the selected runs, unsmoothed, with their settings.")

# --- inside two runs at one epoch (from their snapshots) --------------------------------------------
inside_compare.section(chosen)

# --- managing your runs (not in presenter view: nothing on a projector renames or deletes) -----------
if present.presenting():
    st.stop()
# Who may change a run is decided in mnist_core (the store refuses others' runs whatever this page
# sends); here the controls only offer what this browser may change, and say why not for the rest.
me = identity.actor()
mine = [r for r in chosen if not r.reference and access.may_change(me, r.owned_by)]
others = [r for r in chosen if not r.reference and r not in mine]
whose = "selected, as the teacher" if me.teacher else "of your runs selected"
with st.expander(f"Rename, tag or delete ({len(mine)} {whose})"):
    if others:
        st.caption(f"{len(others)} selected run{'s' * (len(others) != 1)} belong{'s' * (len(others) == 1)} to "
                   f"another browser. {access.why_not()}")
    if not mine:
        st.caption("Reference runs are read-only; select runs of your own to change them.")
    else:
        target = st.selectbox("Run", mine, format_func=compare.run_label, key="manage_target")
        with st.form("rename"):
            name = st.text_input("Name", value=target.data.get("name") or "", max_chars=200)
            tags = st.text_input("Tags (comma-separated)", value=", ".join(target.data.get("tags") or []),
                                 max_chars=1000)
            if st.form_submit_button("Save"):
                try:
                    store.rename(target.run_id, name, by=me)
                    store.set_tags(target.run_id, tags, by=me)
                    st.rerun()
                except (StoreError, access.NotAllowed) as e:
                    st.error(fmt.plain(e))
        confirm = st.checkbox(f"Yes, delete the {len(mine)} selected run(s){'' if me.teacher else ' of mine'}",
                              key="confirm_delete")
        if st.button("Delete", disabled=not confirm, type="secondary"):
            for r in mine:
                try:
                    store.delete(r.run_id, by=me)
                except (StoreError, access.NotAllowed) as e:
                    st.error(fmt.plain(e))
            st.session_state.pop("confirm_delete", None)
            st.rerun()
