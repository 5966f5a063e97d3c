"""Pictures and charts of one digit traced through a network (mnist_core/trace.py): the saliency map,
each layer's activations as a strip, and how the prediction moves along each robustness knob.
Plain data in, a chart or an RGB array out; none touches Streamlit."""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from mnist_core.trace import KNOBS

STRIP_TITLE_ROOM = 42  # px: a 13 px title, its 6 px gap and the padding around the chart (measured in Chromium)


def enlarge(rgb: np.ndarray, factor: int = 7) -> np.ndarray:
    """A 28x28 (x3) picture blown up with square pixels, so it stays crisp on a projector."""
    return np.kron(rgb, np.ones((factor, factor, 1) if rgb.ndim == 3 else (factor, factor), np.uint8))


def grey(pixels: np.ndarray) -> np.ndarray:
    return (np.clip(np.asarray(pixels).reshape(28, 28), 0, 1) * 255).astype(np.uint8)


def signed_map(values: np.ndarray, blank: np.ndarray | None = None) -> np.ndarray:
    """784 signed numbers as a 28x28 RGB picture: red positive, blue negative, white zero, scaled by the
    largest magnitude outside ``blank``; ``blank`` pixels (no ink in nearly any training image, so their
    weights never left their random start) are grey."""
    v = np.asarray(values, np.float32).reshape(28, 28)
    seen = v if blank is None else v[~blank]
    v = v / max(float(np.abs(seen).max()) if seen.size else 0.0, 1e-12)
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = (np.clip(np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1), 0, 1) * 255).astype(np.uint8)
    if blank is not None:
        rgb[blank] = 200
    return rgb


def strip(values, title: str, labels: list[str] | None = None, limit: int = 300) -> alt.Chart:
    """One layer's units as a row of cells, strongest first (darker = more active); hover for the unit.
    ``labels`` names the units (the output layer's digits); otherwise they are numbered."""
    v = np.asarray(values, np.float32)
    order = np.argsort(-v, kind="stable")[:limit]
    names = [labels[i] if labels else f"unit {i}" for i in order]
    df = pd.DataFrame({"rank": np.arange(len(order)), "unit": names, "value": v[order]})
    negative = bool((v < 0).any())
    scale = (alt.Scale(scheme="redblue", domainMid=0, reverse=True) if negative
             else alt.Scale(scheme="greys", domain=[0, max(float(v.max()), 1e-6)]))
    chart = alt.Chart(df).mark_rect(stroke="white", strokeWidth=0.3).encode(
        x=alt.X("rank:O", axis=None),
        color=alt.Color("value:Q", scale=scale, legend=None),
        tooltip=[alt.Tooltip("unit:N", title=""), alt.Tooltip("value:Q", format=".3f", title="activation")])
    if labels:
        chart = chart + alt.Chart(df).mark_text(fontSize=14, fontWeight="bold").encode(
            x=alt.X("rank:O", axis=None), text="unit:N",
            color=alt.condition("datum.rank == 0", alt.value("white"), alt.value("black")))
    # Streamlit's theme fits the whole chart, title included, into its height (and puts titles 26 px above
    # the plot): the title gets its own room here, or the cells are squeezed to nothing.
    return chart.properties(height=(34 if labels else 26) + STRIP_TITLE_ROOM,
                            title=alt.TitleParams(title, anchor="start", fontSize=13, offset=6))


def sweep_frame(probabilities, where: list[tuple[str, object]], digit: int) -> pd.DataFrame:
    """One row per probe image: its knob and value, the probability of ``digit`` (what the network says
    about the digit as it is now) and what the network says there instead."""
    p = np.asarray(probabilities, np.float32)
    return pd.DataFrame({"knob": [k for k, _ in where], "value": [float(v) for _, v in where],
                         "probability": p[:, digit], "says": p.argmax(axis=1).astype(str),
                         "same": p.argmax(axis=1) == digit})


def sweep(df: pd.DataFrame, knob: str, current: float, digit: int) -> alt.LayerChart:
    """The probability of ``digit`` along one knob's range, each value labelled with what the network says
    there (red where that is another digit); the knob's current value is the dashed line."""
    label, unit = KNOBS[knob][0], KNOBS[knob][1]
    part = df[df["knob"] == knob]
    # Five of these share a row, and a knob's name can be wider than its axis: a title centred under the axis
    # would run past the chart's right edge and be cut; ending where the axis ends, it reaches back over the
    # y axis' labels instead.
    x = alt.X("value:Q", title=f"{label} ({unit})", scale=alt.Scale(domain=[KNOBS[knob][2], KNOBS[knob][3]], nice=False),
              axis=alt.Axis(titleAnchor="end"))
    y = alt.Y("probability:Q", title=f"P({digit})", scale=alt.Scale(domain=[0, 1.12]), axis=alt.Axis(format="%"))
    line = alt.Chart(part).mark_line(point=True, color="#555").encode(
        x=x, y=y, tooltip=[alt.Tooltip("value:Q", title=label), alt.Tooltip("probability:Q", format=".1%", title=f"P({digit})"),
                           alt.Tooltip("says:N", title="it says")])
    says = alt.Chart(part).mark_text(dy=-11, fontSize=12, fontWeight="bold").encode(
        x=x, y=y, text="says:N",
        color=alt.condition("datum.same", alt.value("#2b7a2b"), alt.value("#d62728")))
    rule = alt.Chart(pd.DataFrame({"value": [float(current)]})).mark_rule(strokeDash=[4, 3], color="#1f77b4").encode(x=x)
    return (line + says + rule).properties(height=170)
