"""Study: the notebook's findings in its order, each checked against seed groups of stored runs."""

import pandas as pd
import streamlit as st

from mnist_core import compare, published, study, sweep, timing, verdicts
from mnist_core.limits import LimitError
from ui import charts, fmt, identity, services

st.title("The notebook's study, reproduced")
st.markdown(
    "A TensorFlow 1 notebook trained an MLP on MNIST (SGD, learning rate 0.01, batches of 70, 60 epochs) "
    "and drew conclusions about network size, PCA, batch norm, ELU and optimizers from one run each. Here "
    "each setting is a **seed group**: the same settings trained with several seeds, shown as their mean "
    "with a min-max band. A difference counts only when its 95% interval (Welch's t) excludes zero; "
    "otherwise the row says so. The groups are the shipped reference runs (`python -m mnist_core sweep "
    "--preset notebook --seeds 5`), or your own runs with the same settings where you have any.")

store = services.store()
runs = store.list()
# This server's timing file (python -m mnist_core.timing) replaces the shipped one.
times = timing.read(store.user_dir) or timing.read(store.reference_dir)
findings = study.evaluate(runs, times)
st.caption("Accuracies from runs made on: " + fmt.plain("; ".join(study.machines(findings)) or "no runs yet")
           + ". " + study.HW + " Seconds depend on the machine and its load, not on the seed, so each "
           "finding takes them from one source, named under it.")

ICON = {verdicts.AGREES: "agrees", verdicts.DIFFERS: "differs", verdicts.UNDECIDED: ""}
st.table(pd.DataFrame([{
    "Finding": f.title, "Notebook": f.notebook, "Ours: mean ± sd (seeds)": f.ours,
    "Verdict": (ICON.get(f.verdict, "") + (f.verdict_text if f.verdict == verdicts.UNDECIDED else "")
                if f.verdict else "runs missing")} for f in findings]).set_index("Finding"))
st.caption(f"Test: {verdicts.METHOD} of the difference between seed groups (of a group's mean against a "
           f"range, for the 'near' and 'about' claims); 'little accuracy' means within ±"
           f"{study.EQUIVALENT * 100:.1f} points.")


def rerun_here(f: study.Finding) -> None:
    """Queue the finding's settings on this server, several seeds each; the page then uses them."""
    left, right = st.columns([1, 3], vertical_alignment="bottom")
    seeds = left.number_input("Seeds", 1, 10, 3, key=f"seeds_{f.key}")
    if right.button(f"Re-run these settings here ({len(f.needs)} × {seeds} runs of "
                    f"{sweep.NOTEBOOK_EPOCHS} epochs)", key=f"rerun_{f.key}"):
        configs = [c.replace(epochs=sweep.NOTEBOOK_EPOCHS, seed=c.seed + i) for c in f.needs.values()
                   for i in range(int(seeds))]
        try:
            identity.queue(configs, lambda c: sweep.group_of("study", c), ["study"])
        except LimitError as e:
            st.warning(fmt.plain(str(e)))
        else:
            st.success(f"Queued {len(configs)} runs: follow them on the Train page. When a setting has "
                       "finished runs of your own, this page uses them instead of the shipped ones.")


for f in findings:
    st.header(f.title, divider="gray")
    st.markdown(f.claim)
    if f.missing:
        st.info(f"Missing runs for {', '.join(f.missing)}. Train them with "
                f"`{f.missing_hint or 'python -m mnist_core sweep --preset notebook --seeds 5'}` "
                f"(or with the same settings on the Train page).")
    if f.needs:
        with st.expander("Re-run on this server"):
            rerun_here(f)
    if f.missing:
        continue
    # The curves of the first finding are drawn; the others on request (twenty charts of 138 runs' curves
    # take seconds to build and draw, and the table above already says what they show).
    if st.toggle("Show the curves", value=f is findings[0], key=f"curves_{f.key}"):
        frame = compare.groups_band_frame(f.groups, "test_accuracy")
        by_epoch, by_time = st.columns(2)
        epoch_chart = charts.band(frame, "epoch", "test_accuracy")
        if f.key == "topologies":
            epoch_chart = charts.with_published(epoch_chart, published.REFERENCES)
        by_epoch.altair_chart(epoch_chart, key=f"{f.key}_epoch")
        if f.key == "topologies":
            by_epoch.caption("Dashed: published results, from the bottom " + ", ".join(
                f"{r['short']} {1 - r['test_error']:.2%}"
                for r in sorted(published.REFERENCES, key=lambda r: -r["test_error"])) + " (hover a line for its source).")
        by_time.altair_chart(charts.band(frame, "train_seconds", "test_accuracy"), key=f"{f.key}_time")
    for c in f.checks:
        mark = {verdicts.AGREES: "agrees", verdicts.DIFFERS: "differs", verdicts.UNDECIDED: c.why}.get(c.verdict)
        st.markdown(f"- {c.text}" + (f" — *{mark}*" if mark else ""))
    st.caption(f"Seconds per epoch: {f.times_from}.")
    if f.verdict == verdicts.DIFFERS:
        st.warning(f"Ours differs from the notebook here. {f.explain}")
    elif f.explain:
        st.caption(f.explain)

st.header("Published results", divider="gray")
st.markdown("MLPs on the same 10,000 test images, from the literature; the dashed lines on the first chart.")
st.dataframe(pd.DataFrame([{"Source": r["source"], "Network": r["network"],
                            "Test accuracy": f"{published.accuracy(r):.2%}", "How it was trained": r["how"]}
                           for r in published.REFERENCES]), hide_index=True, width="stretch")
st.caption(published.WHY_THEY_DIFFER)
