"""Try a model, traced: one digit through the network, a saliency map, and a robustness probe.

Everything lives in one fragment: moving a robustness slider reruns this part (and asks the model
process once: the moved digit's trace plus every knob's sweep in one batch), not the drawing canvas.
The model work happens in the tool worker (mnist_core/trace.py); this process never imports TensorFlow.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from mnist_core import trace
from ui import fmt, inside, services, trace_charts

TOP_UNITS = 8


def _reset() -> None:
    for name in trace.KNOBS:  # a callback runs before the sliders are drawn, so they may be set here
        st.session_state[f"trace_{name}"] = trace.NEUTRAL[name]


def _knobs() -> dict:
    """The robustness sliders, with a reset; returns their values."""
    cols = st.columns(len(trace.KNOBS) + 1, vertical_alignment="bottom")
    values = {}
    for col, (name, (label, unit, lo, hi, step, neutral)) in zip(cols, trace.KNOBS.items()):
        values[name] = col.slider(f"{label} ({unit})", lo, hi, neutral, step, key=f"trace_{name}")
    cols[-1].button("Reset", icon=":material/restart_alt:", key="trace_reset_button", width="stretch", on_click=_reset)
    return trace.settings(values)


@st.fragment
def show(run, pixels: np.ndarray, ds=None) -> None:
    """Trace ``pixels`` (784 floats 0-1, MNIST-style) through ``run``'s saved model; ``ds`` (the run's
    dataset, or None) greys the pixels no training image uses."""
    st.subheader("Move it: does the prediction hold?")
    st.caption("These sliders change the 28x28 digit the network gets. An MLP has one weight per pixel and no "
               "idea that neighbouring pixels belong together: a digit moved a few pixels lands on weights that "
               "never saw ink there, so its prediction can change even though the shape did not.")
    knobs = _knobs()
    moved = trace.perturb(pixels, **knobs)
    probe, where = trace.sweeps(pixels, knobs)
    with st.spinner("Asking the model (the first question starts a model process)..."):
        reply = services.tool({"cmd": "trace", "run_id": run.run_id, "pixels": moved.round(4).tolist(),
                               "probe": probe.round(3).tolist()})
    if "error" in reply:
        st.error(fmt.plain(reply["error"]))
        return
    proba = np.asarray(reply["probabilities"])
    said = int(reply["predicted"])
    blank = None if ds is None else inside._blank_pixels(ds, ds.name)

    left, middle, right = st.columns([1, 1.3, 1])
    changed = knobs != trace.NEUTRAL
    left.image(trace_charts.enlarge(trace_charts.grey(moved)), width=196,
               caption="What the network sees (28x28)" + (", moved by the sliders" if changed else ""))
    with middle:
        st.markdown(f"### It's a **{said}** ({proba[said]:.1%} sure)")
        top = np.argsort(-proba)[:3]
        st.markdown("  \n".join(f"{d}: {proba[d]:.1%}" for d in top))
        st.caption(f"Model: {fmt.plain(run.display_name)}, test accuracy "
                   f"{fmt.pct(run.data.get('final_test_accuracy'))}.")
    right.image(trace_charts.enlarge(trace_charts.signed_map(reply["saliency"], blank)), width=196,
                caption=f"Saliency: where ink would raise (red) or lower (blue) the score of {said}")
    st.caption(f"The saliency map is the gradient of the network's score (logit) for {said} with respect to each of "
               f"the 784 input pixels, computed by TensorFlow on the loaded model: to first order, how much a little "
               f"more ink at that pixel would change the score. Grey pixels are blank in nearly every training "
               f"image: their weights never moved from their random start, so their gradient says nothing.")

    df = trace_charts.sweep_frame(reply["probe_probabilities"], where, said)
    st.markdown(f"**How P({said}) moves along each slider** (the others as set; the digit above each point is "
                f"what the network says there, red when it is not {said}; dashed: the slider's value)")
    cols = st.columns(len(trace.KNOBS))
    for col, name in zip(cols, trace.KNOBS):
        inside._draw(col, trace_charts.sweep(df, name, knobs[name], said), f"trace_sweep_{name}")

    st.subheader("Layer by layer")
    st.caption("Each strip is one layer's units for this digit, strongest first (darker: more active; red and "
               "blue: positive and negative where the activation allows both). Hover a cell for its unit. The "
               "last strip is the output: the digit whose logit is largest wins.")
    for i, layer in enumerate(reply["layers"]):
        values = np.asarray(layer["values"])
        is_output = i == len(reply["layers"]) - 1
        if is_output:
            title = "output: the 10 logits, largest first"
        else:
            title = f"{layer['name']}: {len(values)} units, {int((values > 0).sum())} above zero"
            if len(values) > 300:
                title += " (the strongest 300 shown)"
        chart = trace_charts.strip(values, title, labels=[str(d) for d in range(10)] if is_output else None)
        inside._draw(st, chart, f"trace_layer_{i}")

    units = reply["top_units"]
    st.markdown(f"**The {len(units['ids'])} first-layer units this digit excites most, and what each looks for** "
                "(its weights on the pixels: red positive, blue negative; grey pixels are blank in nearly every "
                "training image)")
    pictures = [trace_charts.enlarge(trace_charts.signed_map(w, blank), 3) for w in units["weights"]]
    st.image(pictures, width=84, caption=[f"unit {u}: {a:.2f}" for u, a in zip(units["ids"], units["activations"])])
