"""Study: the notebook's findings in its order, each checked against the stored runs."""

import pandas as pd
import streamlit as st

from mnist_core import compare, study
from ui import charts, services

st.title("The notebook's study, reproduced")
st.markdown(
    "A TensorFlow 1 notebook trained an MLP on MNIST (SGD, learning rate 0.01, batches of 70, 60 epochs) "
    "and drew conclusions about network size, PCA, batch norm, ELU and optimizers. Each finding below is "
    "checked against runs in the store: the shipped reference runs (made with "
    "`python -m mnist_core sweep --preset notebook`) or your own runs with the same settings. "
    "The numbers are computed from the curves each time this page is drawn.")

findings = study.evaluate(services.store().list())
verdict = {True: "agrees", False: "differs", None: "runs missing"}
st.table(pd.DataFrame([{"Finding": f.title, "Notebook": f.notebook, "Ours": f.ours, "": verdict[f.agrees]}
                       for f in findings]).set_index("Finding"))

for f in findings:
    st.header(f.title, divider="gray")
    st.markdown(f.claim)
    if f.missing:
        st.info(f"Missing runs for {', '.join(f.missing)}. Train them with "
                f"`python -m mnist_core sweep --preset notebook` (or with the same settings on the Train page).")
        continue
    frame = compare.curves_frame(list(f.runs.values()))
    frame["run"] = frame["run_id"].map({r.run_id: role for role, r in f.runs.items()})
    by_epoch, by_time = st.columns(2)
    by_epoch.altair_chart(charts.overlay(frame, "epoch", "test_accuracy"), key=f"{f.key}_epoch")
    by_time.altair_chart(charts.overlay(frame, "train_seconds", "test_accuracy"), key=f"{f.key}_time")
    st.markdown(f"**Ours:** {f.ours}" + (f" ({f.comment})" if f.comment else ""))
    if f.agrees is False:
        st.warning(f"Ours differs from the notebook here. {f.explain}")
    elif f.explain:
        st.caption(f.explain)
