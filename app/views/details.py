"""Run details: one run inside out. Curves, settings, where it goes wrong, and how its layers fare."""

import numpy as np
import pandas as pd
import streamlit as st

from mnist_core import compare, curves, export
from mnist_core.config import FIELDS
from mnist_core.store import PROJECT_DIR, RUN_FILE, StoreError
from ui import charts, datasets, fmt, inside, services

GALLERY = 40  # misclassified images shown at once

st.title("Run details")
store = services.store()
runs = store.list()
if not runs:
    st.info("No runs yet. Train one on the Train page.")
    st.stop()

# --- which run ----------------------------------------------------------------------------------------
by_id = {r.run_id: r for r in runs}
wanted = st.query_params.get("run")
if wanted and wanted not in by_id:
    try:
        store.get(wanted)
    except StoreError as e:
        st.warning(fmt.say("{} Showing the newest run instead.", e))
    wanted = None
run_id = st.selectbox("Run", list(by_id), index=list(by_id).index(wanted or runs[0].run_id),
                      format_func=lambda i: compare.run_label(by_id[i]), key="details_run")
if st.query_params.get("run") != run_id:
    st.query_params["run"] = run_id
run = by_id[run_id]
d, config, history = run.data, run.config, run.history

st.subheader(fmt.plain(run.display_name))
st.caption(fmt.say("{} · {} · created {} · {}", config.label, run.status, str(d.get("created") or "")[:19].replace("T", " "),
                   "reference run, shipped with the project" if run.reference else "your run"))
if d.get("reason"):
    # A finished run's reason is news (early stopping), not a problem.
    (st.info if run.status == "finished" else st.warning)(fmt.say("{}: {}", run.status.capitalize(), d["reason"]))
if not history:
    st.info("This run has no finished epoch yet.")
    st.stop()

ms = curves.milestones(history)
c1, c2, c3, c4 = st.columns(4)
c1.metric("Best test accuracy", fmt.pct(curves.best(history)),
          help=f"{d['param_count']:,} parameters" if d.get("param_count") else None)
c2.metric("Time per epoch", fmt.secs(curves.seconds_per_epoch(history)))
ended = run.status not in ("queued", "running")
fmt.milestone_metric(c3, "97%", ms["97"], ended)
fmt.milestone_metric(c4, "98%", ms["98"], ended)

left, right = st.columns(2)
best = d.get("best_epoch")
left.altair_chart(charts.run_curves(history, "accuracy", best), key="acc")
right.altair_chart(charts.run_curves(history, "loss", best), key="loss")
if best:
    st.caption(f"The dashed red line marks epoch {best}: early stopping kept the weights of this epoch, the "
               f"lowest validation loss, so the model, its confusion matrix and its mistakes are that epoch's.")
if any(h.get("learning_rate") is not None for h in history) and config.schedule != "constant":
    st.altair_chart(charts.learning_rate(history, config.epochs, best), key="lr")

# --- settings and where it ran ----------------------------------------------------------------------------
with st.expander("Settings, timings and machine", expanded=False):
    settings = pd.DataFrame({"value": [compare.format_setting(d["config"][f.name]) for f in FIELDS]},
                            index=[f.label for f in FIELDS])
    st.table(settings)
    pca = d.get("pca")
    env = d.get("environment") or {}
    facts = [f"Setup (data, PCA, model): {fmt.secs(d.get('setup_seconds'))}; compiling: "
             f"{fmt.secs(d.get('compile_seconds'))}."]
    if pca:
        facts.append(f"PCA: {pca['components']} components keep {pca['explained_variance']:.1%} of the variance; "
                     f"fitting took {fmt.secs(pca['fit_seconds'])}{' (reused from an earlier run)' if pca.get('cached') else ''}.")
    facts.append(f"Machine: {env.get('cpu_count', '?')} CPUs, {env.get('machine', '?')}, Python {env.get('python', '?')}, "
                 f"TensorFlow {env.get('tensorflow', '?')}, Keras {env.get('keras', '?')}.")
    st.markdown("\n".join(f"- {fmt.plain(f)}" for f in facts))
    where = run.path.relative_to(PROJECT_DIR) if run.path.is_relative_to(PROJECT_DIR) else run.path
    st.markdown("Open it in TensorBoard (scalars and hparams):")
    st.code(f"tensorboard --logdir {where}", language="bash")

# --- take it elsewhere ------------------------------------------------------------------------------------
with st.expander("Download the model and its record", expanded=False):
    # The files are read when the button is clicked (a model is a few MB), and a click does not rerun the page.
    left, right = st.columns(2)
    left.download_button("run.json: settings, history, analysis", data=(run.path / RUN_FILE).read_bytes,
                         file_name=f"{run.run_id}.json", mime="application/json", on_click="ignore",
                         icon=":material/download:", key="download_json")
    if run.model_path is None:
        right.caption("No saved model: reference runs and runs trained with --no-model keep only their numbers.")
    else:
        right.download_button("Model (.keras)", data=run.model_path.read_bytes,
                              file_name=export.model_file_name(run.run_id), mime="application/octet-stream",
                              on_click="ignore", icon=":material/download:", key="download_model")
        if export.is_portable(run.model_path):
            st.markdown("**Use this model** with Keras 3 anywhere, no code from this project needed:")
            st.code(export.usage_snippet(run.run_id, config.dataset), language="python", wrap_lines=True)
            st.caption(export.INPUTS)
        else:
            st.caption("This model was saved by an earlier version: it outputs logits for flat float 0-1 "
                       "images and is not compiled. Train the run again for a model that takes images as "
                       "they come and outputs probabilities.")

# --- inside the network, epoch by epoch (from the run's snapshots) -------------------------------------------
snaps, problems = inside.load(run)
if snaps:
    st.header("Inside the network, epoch by epoch", divider="gray")
    inside.section(run, snaps, history, datasets.load(config.dataset))  # no dataset: it says why, no images
    inside.layer_health(history)
else:
    st.info(fmt.plain(inside.why_not(run, problems)))
    # --- where the final model goes wrong --------------------------------------------------------------------
    analysis = d.get("analysis")
    st.header("Where it goes wrong", divider="gray")
    if not analysis:
        st.info("This run has no final evaluation stored (it diverged, failed, or predates the feature).")
    else:
        left, right = st.columns(2)
        left.markdown("**Confusion matrix** (rows: true digit; columns: what the model said)")
        left.altair_chart(charts.confusion(analysis["confusion"]), key="confusion")
        right.markdown("**Accuracy per digit**")
        right.altair_chart(charts.per_class(analysis["per_class_accuracy"]), key="per_class")

        total = analysis["misclassified_total"]
        st.markdown(f"**Misclassified test images**: {total:,} of 10,000, most confident mistakes first.")
        digit = st.segmented_control("True digit", ["all", *range(10)], default="all", key="gallery_digit")
        wrong = [m for m in analysis["misclassified"] if digit in (None, "all") or m["true"] == digit]
        if not wrong:
            st.caption("No mistakes stored for this digit.")
        else:
            ds = datasets.load(config.dataset)  # without it, the page says why and goes on
            if ds is not None:
                x_test = ds.x_test
                shown = [m for m in wrong if m["index"] < len(x_test)][:GALLERY]  # a smaller test set than MNIST's
                images = [(x_test[m["index"]].reshape(28, 28) * 255).astype(np.uint8) for m in shown]
                captions = [f"{m['true']} → {m['pred']} ({m['confidence']:.0%})" for m in shown]
                st.image(images, caption=captions, width=84)
                st.caption(f"Showing {len(shown)} of {len(wrong)} stored; captions read true → predicted (confidence).")

    # --- layer health -----------------------------------------------------------------------------------------
    st.header("Layer health", divider="gray")
    if not any("dead_units" in h for h in history):
        st.info("This run has no layer health stored.")
    else:
        st.markdown(
            "Measured after each epoch on 1,000 fixed training images. **Units that never activate**: the share "
            "of each hidden layer's units whose input is negative for every image (a dead ReLU stays dead: the "
            "notebook's reason to try ELU). **Gradient norm**: how strongly the loss pulls on each layer's weights; "
            "if it shrinks towards the input, the first layers learn slowly (the notebook's reason for batch norm).")
        left, right = st.columns(2)
        left.altair_chart(charts.layer_health(history, "dead_units", "Units that never activate", best_epoch=best),
                          key="dead")
        right.altair_chart(charts.layer_health(history, "grad_norm", "Gradient norm (log)", log=True, best_epoch=best),
                           key="grad")
