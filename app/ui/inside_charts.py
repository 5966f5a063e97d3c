"""Charts and pictures of a network's insides at one epoch, from its snapshots (mnist_core/snapshots.py).
Each function takes plain arrays and returns a chart, a picture or a table; none touches Streamlit."""

from __future__ import annotations

import base64
import io

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

from mnist_core.snapshots import layer_name

KIND_LABELS = {"weights": "Weights", "biases": "Biases", "activations": "Pre-activations",
               "gradients": "Gradients"}
SORTS = {"strongest first (weight norm)": "norm", "most often dead first": "dead",
         "by the digit it pushes towards": "class", "as the network has them": "index"}
DIGITS = [str(d) for d in range(10)]


def signed_rgb(q: np.ndarray, blank: np.ndarray | None = None) -> np.ndarray:
    """uint8 pictures with 128 = 0 as RGB: white at zero, red for positive weights, blue for negative.
    Pixels in ``blank`` (28x28, True where nearly every training image is empty) are drawn grey: their
    weights get no gradient and keep their random start, noise that hides what was learned."""
    v = (q.astype(np.float32) - 128) / 127
    pos, neg = np.clip(v, 0, 1), np.clip(-v, 0, 1)
    rgb = (np.clip(np.stack([1 - neg, 1 - pos - neg, 1 - pos], axis=-1), 0, 1) * 255).astype(np.uint8)
    if blank is not None:
        rgb[..., blank, :] = 200
    return rgb


def png_url(rgb: np.ndarray, scale: int = 2) -> str:
    img = Image.fromarray(rgb).resize((rgb.shape[1] * scale, rgb.shape[0] * scale), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG", compress_level=1)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode()


def unit_table(snap: dict, sort: str) -> pd.DataFrame:
    """One row per first-layer unit, in the chosen order: its norm, dead share and strongest class."""
    effect = snap["unit_effect"].astype(np.float32)
    pushes = effect.argmax(axis=1)
    df = pd.DataFrame({"unit": np.arange(len(effect)), "norm": snap["unit_norm"],
                       "dead": snap["unit_dead"].astype(np.float32), "pushes": pushes,
                       "pull": effect.max(axis=1)})
    key = SORTS[sort]
    if key == "norm":
        df = df.sort_values("norm", ascending=False, kind="stable")
    elif key == "dead":
        df = df.sort_values(["dead", "norm"], ascending=[False, False], kind="stable")
    elif key == "class":
        df = df.sort_values(["pushes", "pull"], ascending=[True, False], kind="stable")
    return df.reset_index(drop=True)


CELL = 33  # px a grid cell, both ways: a 28x28 picture and a white gap


def grid_picture(snap: dict, units: np.ndarray, blank: np.ndarray | None, columns: int) -> str:
    """The pictures of ``units``, in that order, as one PNG data URL: rows of ``columns`` cells on white.
    One picture for the browser to decode instead of one per unit; drawn with square pixels (no smoothing),
    it is as sharp at any zoom as pictures made larger."""
    pics = signed_rgb(snap["first_weights"][units], blank)
    rows, pad = -(-len(units) // columns), (CELL - 28) // 2
    sheet = np.full((max(rows, 1) * CELL, columns * CELL, 3), 255, np.uint8)
    for i, pic in enumerate(pics):
        r, c = divmod(i, columns)
        sheet[r * CELL + pad:r * CELL + pad + 28, c * CELL + pad:c * CELL + pad + 28] = pic
    return png_url(sheet, scale=1)


def weight_grid(snap: dict, sort: str, limit: int, blank: np.ndarray | None = None,
                columns: int = 20) -> alt.LayerChart:
    """The first layer's units as 28x28 pictures in a grid, in the chosen order: one picture of them all,
    under a clickable cell per unit (selection ``unit``) whose tooltip names the unit. The units not
    clicked are veiled in white while one is selected."""
    df = unit_table(snap, sort).head(limit).copy()
    df["col"], df["row"] = df.index % columns, df.index // columns
    df["digit"] = df["pushes"].astype(str)
    columns = min(columns, max(len(df), 1))
    rows = -(-len(df) // columns)
    picture = alt.Chart(pd.DataFrame({"image": [grid_picture(snap, df["unit"].to_numpy(), blank, columns)]}))
    picture = picture.mark_image(width=columns * CELL, height=rows * CELL, align="left", baseline="top",
                                 smooth=False, aria=False).encode(x=alt.value(0), y=alt.value(0), url="image:N")
    pick = alt.selection_point(name="unit", fields=["unit"], on="click", clear="dblclick")
    cells = alt.Chart(df).mark_rect(fill="white", aria=False).encode(
        x=alt.X("col:O", axis=None, scale=alt.Scale(paddingInner=0, paddingOuter=0)),
        y=alt.Y("row:O", axis=None, scale=alt.Scale(paddingInner=0, paddingOuter=0)),
        fillOpacity=alt.condition(pick, alt.value(0.0), alt.value(0.6)),
        tooltip=[alt.Tooltip("unit:Q", title="unit"), alt.Tooltip("norm:Q", format=".3f", title="weight norm"),
                 alt.Tooltip("dead:Q", format=".0%", title="dead on the sample"),
                 alt.Tooltip("digit:N", title="pushes most towards")],
    ).add_params(pick)
    # CELL px a cell both ways: square cells whatever the page's width (Streamlit's theme fits a fixed width
    # and height around the padding). Drawn as SVG: Streamlit would pick a canvas for a dataset this large
    # (the picture), but 300 cells are cheap in SVG, and each stays an element a test can find and click.
    return (picture + cells).properties(width=alt.Step(CELL), height=alt.Step(CELL),
                                        usermeta={"embedOptions": {"renderer": "svg"}})


def unit_pictures(snaps: dict[int, dict], unit: int, blank: np.ndarray | None = None) -> tuple[list[np.ndarray], list[str]]:
    """One unit's picture at every stored epoch, each scaled on its own, with captions."""
    pics = [np.kron(signed_rgb(s["first_weights"][unit], blank), np.ones((3, 3, 1), np.uint8))
            for s in snaps.values()]
    return pics, [f"epoch {e}" for e in snaps]


def confusion(cm: np.ndarray) -> alt.LayerChart:
    """The confusion matrix; clicking a cell selects (true, predicted) as selection ``cell`` or ``cell_text``."""
    df = pd.DataFrame([{"true": i, "predicted": j, "count": int(cm[i, j]),
                        "share": cm[i, j] / max(1, cm[i].sum())} for i in range(10) for j in range(10)])
    # The count written on a cell is a mark of its own and takes the click, so it selects too (``cell_text``).
    pick = alt.selection_point(name="cell", fields=["true", "predicted"], on="click", clear="dblclick")
    pick_text = alt.selection_point(name="cell_text", fields=["true", "predicted"], on="click", clear="dblclick")
    base = alt.Chart(df).encode(x=alt.X("predicted:O", title="Predicted", axis=alt.Axis(labelAngle=0)),
                                y=alt.Y("true:O", title="True digit"))
    tooltip = ["true:O", "predicted:O", "count:Q", alt.Tooltip("share:Q", format=".1%", title="of this digit")]
    # Only mistakes are coloured, on a scale of their own: the diagonal's counts (hundreds) are left out of
    # the scale's domain by being null there, not by a domain written into the chart, so the chart's
    # spec is the same at every epoch and the browser only swaps its data when the slider moves.
    df["mistakes"] = df["count"].where(df["true"] != df["predicted"])
    cells = base.mark_rect(stroke="#222").encode(
        color=alt.condition("datum.true == datum.predicted", alt.value("#d9e8f5"),
                            alt.Color("mistakes:Q", scale=alt.Scale(scheme="oranges", domainMin=0),
                                      legend=alt.Legend(title="Mistakes"))),
        strokeWidth=alt.condition(pick, alt.value(3), alt.value(0), empty=False),
        tooltip=tooltip,
    ).add_params(pick)
    text = base.mark_text().encode(
        text="count:Q", tooltip=tooltip,
        size=alt.condition(pick_text, alt.value(17), alt.value(11), empty=False),  # the clicked count grows
    ).add_params(pick_text)
    return (cells + text).properties(height=330)


def per_class(cm: np.ndarray) -> list[float]:
    return (np.diag(cm) / np.maximum(cm.sum(axis=1), 1)).tolist()


def mistakes(snap: dict, y_test: np.ndarray, cell: tuple[int, int] | None = None,
             digit: int | None = None) -> list[dict]:
    """Misclassified test images at this epoch, most confident first: all, one true digit, or exactly
    one confusion-matrix cell (true, predicted). Captions: true → said (its probability); the true
    digit's probability."""
    ids = snap["wrong_ids"].astype(np.int64)
    proba = snap["wrong_proba"].astype(np.float32)
    keep = ids < len(y_test)
    ids, proba = ids[keep], proba[keep]
    true, pred = y_test[ids], proba.argmax(axis=1)
    if cell is not None:
        keep = (true == cell[0]) & (pred == cell[1])
    elif digit is not None:
        keep = true == digit
    else:
        keep = np.ones(len(ids), bool)
    out = []
    for i, t, p, pr in zip(ids[keep], true[keep], pred[keep], proba[keep]):
        out.append({"index": int(i), "true": int(t), "pred": int(p), "confidence": float(pr[p]),
                    "caption": f"{t} → {p} ({pr[p]:.1%}); {t}: {pr[t]:.1%}"})
    return out


def digit_urls(x_test: np.ndarray, ids: np.ndarray) -> list[str]:
    """Test images as tiny PNG data URLs, dark ink on white (about 400 bytes each, 0.8 MB for 2,000), for
    tooltips: Vega's tooltip shows a field titled ``image`` as a picture."""
    out = []
    for i in ids:
        buf = io.BytesIO()
        Image.fromarray(255 - (x_test[int(i)].reshape(28, 28) * 255).astype(np.uint8)).save(buf, format="PNG")
        out.append("data:image/png;base64," + base64.b64encode(buf.getvalue()).decode())
    return out


# Vega's tooltip shows an image at its own size; 28 pixels are small, so they are drawn 3x, square pixels.
TOOLTIP_STYLE = "<style>#vg-tooltip-element img { width: 84px; height: 84px; image-rendering: pixelated; }</style>"


def hidden_frame(snaps: dict[int, dict]) -> tuple[list[float], list[float]]:
    """The x and y ranges (5% margin) that hold the hidden space at every stored epoch: one frame for the
    whole run, so moving the slider shows the points move, not the axes."""
    p = np.concatenate([s["projection"].astype(np.float32) for s in snaps.values()])
    low, high = p.min(axis=0), p.max(axis=0)
    margin = np.maximum((high - low) * 0.05, 1e-6)
    return ([float(low[0] - margin[0]), float(high[0] + margin[0])],
            [float(low[1] - margin[1]), float(high[1] + margin[1])])


def hidden_space(snap: dict, urls: list[str] | None = None, frame: tuple | None = None) -> alt.Chart:
    """The sample's last hidden layer in 2-D, coloured by the true digit; mistakes are crosses. With
    ``urls`` (one picture per sample image, in the sample's order) the tooltip shows the digit itself;
    ``frame`` is the x and y ranges drawn (default: this snapshot's own, see ``hidden_frame``)."""
    p = snap["projection"].astype(np.float32)
    df = pd.DataFrame({"x": p[:, 0], "y": p[:, 1], "digit": snap["sample_labels"].astype(str),
                       "said": snap["sample_pred"].astype(str), "test_id": snap["sample_ids"].astype(int)})
    tooltip = [alt.Tooltip("digit:N", title="true digit"), alt.Tooltip("said:N", title="network said"),
               alt.Tooltip("test_id:Q", title="test image #")]
    if urls is not None and len(urls) == len(df):
        df["image"] = urls
        tooltip.insert(0, alt.Tooltip("image:N", title="image"))
    df["result"] = np.where(df["digit"] == df["said"], "right", "mistake")
    x_range, y_range = frame or hidden_frame({0: snap})
    # No ARIA label per point: Vega would write each point's fields (its picture's data URL too) into the
    # page, 2,000 of them, megabytes of DOM to rebuild at every epoch, and read aloud they say nothing.
    return alt.Chart(df).mark_point(filled=True, size=28, aria=False).encode(
        x=alt.X("x:Q", scale=alt.Scale(domain=x_range, nice=False),
                axis=alt.Axis(title="first principal axis", labels=False, ticks=False)),
        y=alt.Y("y:Q", scale=alt.Scale(domain=y_range, nice=False),
                axis=alt.Axis(title="second principal axis", labels=False, ticks=False)),
        color=alt.Color("digit:N", sort=DIGITS, scale=alt.Scale(scheme="category10"), title="True digit"),
        shape=alt.Shape("result:N", scale=alt.Scale(domain=["right", "mistake"], range=["circle", "cross"]),
                        title=""),
        opacity=alt.condition("datum.result == 'mistake'", alt.value(1.0), alt.value(0.55)),
        tooltip=tooltip,
    ).properties(height=430)


def histogram_heatmap(snaps: dict[int, dict], kind: str, layer: int, current: int) -> alt.LayerChart:
    """One layer's histogram at every stored epoch side by side (darker = more values in that bin)."""
    epochs = list(snaps)
    edges = snaps[epochs[-1]][f"edges_{kind}"][layer]
    rows = []
    for e in epochs:
        counts = snaps[e][f"hist_{kind}"][layer]
        total = max(1, int(counts.sum()))
        rows += [{"epoch": str(e), "lo": float(edges[i]), "hi": float(edges[i + 1]), "share": c / total}
                 for i, c in enumerate(counts) if c]
    df = pd.DataFrame(rows, columns=["epoch", "lo", "hi", "share"])
    order = [str(e) for e in epochs]
    x = alt.X("epoch:O", sort=order, title="Epoch", axis=alt.Axis(labelAngle=0))
    cells = alt.Chart(df).mark_rect().encode(
        x=x, y=alt.Y("lo:Q", title=KIND_LABELS[kind]), y2="hi:Q",
        color=alt.Color("share:Q", scale=alt.Scale(type="sqrt", scheme="greys"), legend=None),
        tooltip=["epoch:O", alt.Tooltip("lo:Q", format=".3g", title="from"),
                 alt.Tooltip("hi:Q", format=".3g", title="to"), alt.Tooltip("share:Q", format=".1%")])
    marker = alt.Chart(pd.DataFrame({"epoch": [str(current)]})).mark_rect(
        fill=None, stroke="#d62728", strokeWidth=2).encode(x=alt.X("epoch:O", sort=order))
    layers = len(snaps[epochs[-1]][f"hist_{kind}"])
    # Streamlit fits title and axes into the height: 300 leaves the bins about 180 px.
    return (cells + marker).properties(height=300, title=layer_name(layer, layers).replace("_", " "))

