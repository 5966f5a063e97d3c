"""Run details, inside the network: one epoch slider for everything the run's snapshots keep.

Moving the slider (or pressing Play) redraws, at that epoch: the confusion matrix (click a cell to see
exactly those test images), accuracy per digit, the misclassified gallery, the first layer's weights
as pictures (click one to follow it over the epochs), the hidden space of 2,000 test images, and the
histograms of every layer. The slider steps through stored snapshots only: nothing is interpolated.
Everything lives in one fragment, so moving the slider reruns this part of the page, not all of it.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit.errors import StreamlitAPIException

from mnist_core import snapshots
from ui import charts, inside_charts

GALLERY = 40
MAX_UNITS_SHOWN = 300
PLAY_SECONDS = 0.8


@st.cache_resource(max_entries=6, show_spinner=False)
def _load(path: str, stamp: tuple) -> tuple[dict, list]:
    return snapshots.load_all(Path(path))


def load(run) -> tuple[dict[int, dict], list[str]]:
    """The run's valid snapshots by epoch and a sentence per skipped file; re-read when files change."""
    folder = run.path / snapshots.FOLDER
    stamp = ()
    if folder.is_dir() and not folder.is_symlink():
        files = sorted(p for p in folder.iterdir() if p.suffix == ".npz")
        stamp = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file())
    return _load(str(run.path), stamp)


def why_not(run, problems: list[str]) -> str:
    if problems:
        return (f"This run's snapshots could not be read ({problems[0]}), so the epoch slider, weight "
                f"pictures, hidden space and histograms are not shown; train it again to get new ones.")
    if run.reference:
        return ("This reference run was made before runs kept snapshots of their insides, so the epoch "
                "slider, weight pictures, hidden space and histograms are not shown. Train the same "
                "settings yourself (Train page) to see them.")
    return ("This run has no snapshots of its insides (it was made before runs kept them, or stopped "
            "before its first epoch ended), so the epoch slider, weight pictures, hidden space and "
            "histograms are not shown. Train it again to see them.")


def _draw(where, chart, key: str, **select):
    """An Altair chart drawn from its Vega-Lite dict without Altair's schema validation, which costs more
    than building the chart (a tenth of a second each, several a redraw).

    Altair names each dataset after a hash of its contents, so a chart with new data is a new spec, and
    the browser builds it again from scratch. Named after the chart's key instead, a chart whose spec
    is unchanged (same view, another epoch) gets only its new data: Streamlit's frontend then swaps the
    datasets of the chart it already has, which is several times faster than drawing it anew."""
    spec = chart.to_dict(validate=False)
    datasets = spec.pop("datasets", {})
    text = json.dumps(spec)
    for i, name in enumerate(datasets):
        text = text.replace(json.dumps(name), json.dumps(f"{key}_{i}"))
    for i, name in enumerate(dict.fromkeys(re.findall(r'"(view_[0-9a-f_]+)"', text))):  # Altair's layer names
        text = text.replace(f'"{name}"', f'"{key}_view_{i}"')
    spec = json.loads(text)
    spec["datasets"] = {f"{key}_{i}": values for i, values in enumerate(datasets.values())}
    return where.vega_lite_chart(spec, key=key, **select)


@st.cache_resource(max_entries=32, show_spinner=False)
def _unit_urls(path: str, epoch: int, snap_id: int, _snap: dict, _blank) -> list[str]:
    """The weight pictures of one snapshot (as loaded: a changed file is a new object, a new id)."""
    return inside_charts.unit_urls(_snap, _blank)


def _rerun() -> None:
    """Rerun only this section when the run is a fragment rerun (a click in it), else the page."""
    try:
        st.rerun(scope="fragment")
    except StreamlitAPIException:
        st.rerun()


def _epoch_slider(epochs: list[int]) -> int:
    state = st.session_state
    if "inside_next" in state:  # set by Play in the last run, before the slider exists in this one
        state["inside_epoch"] = state.pop("inside_next")
    if state.get("inside_epoch") not in epochs:
        state["inside_epoch"] = epochs[-1]
    left, right = st.columns([6, 1], vertical_alignment="bottom")
    epoch = left.select_slider("Epoch", options=epochs, key="inside_epoch",
                               help="Only epochs with a stored snapshot: 1, 2, 3, 5, 8, 13, 20, 30, 45, 60, "
                                    "... and the last. Everything below is drawn at this epoch.")
    playing = state.get("inside_playing", False)
    if right.button("Pause" if playing else "Play", icon=":material/pause:" if playing else ":material/play_arrow:",
                    key="inside_play", width="stretch"):
        playing = state["inside_playing"] = not playing
        if playing and epoch == epochs[-1]:  # play from the start
            state["inside_next"] = epochs[0]
            _rerun()
    return epoch


@st.cache_resource(max_entries=2, show_spinner=False)
def _blank_pixels(_ds, name: str) -> np.ndarray:
    """28x28, True where fewer than 1% of the training images have any ink."""
    return ((_ds.x_train > 0).mean(axis=0) < 0.01).reshape(28, 28)


@st.cache_resource(max_entries=2, show_spinner=False)
def _sample_urls(_ds, name: str, ids: bytes) -> list[str]:
    return inside_charts.digit_urls(_ds.x_test, np.frombuffer(ids, np.uint32))


def sample_urls(ds, ids: np.ndarray) -> list[str] | None:
    """The hidden-space sample's digits as tooltip pictures, made once per server (the sample is the same
    images in every run); None without the dataset or for ids outside its test set."""
    if ds is None or not len(ids) or int(ids.max()) >= len(ds.x_test):
        return None
    return _sample_urls(ds, ds.name, ids.astype(np.uint32).tobytes())


@st.fragment
def section(run, snaps: dict[int, dict], history: list[dict], ds) -> None:
    """Everything at the slider's epoch; ``ds`` is the run's dataset (None if it is not available here)."""
    x_test, y_test = (None, None) if ds is None else (ds.x_test, ds.y_test)
    blank = None if ds is None else _blank_pixels(ds, ds.name)
    epochs = list(snaps)
    epoch = _epoch_slider(epochs)
    snap = snaps[epoch]
    cm = snap["confusion"].astype(np.int64)

    st.subheader(f"Where it goes wrong at epoch {epoch}")
    left, right = st.columns(2)
    left.markdown("**Confusion matrix** (rows: true digit; columns: what the model said). Click a cell to "
                  "see its images; double-click to clear.")
    event = _draw(left, inside_charts.confusion(cm), "inside_confusion", on_select="rerun",
                  selection_mode=["cell", "cell_text"])
    chosen = (event or {}).get("selection", {})
    picked = chosen.get("cell") or chosen.get("cell_text") or []
    cell = (int(picked[0]["true"]), int(picked[0]["predicted"])) if picked else None
    right.markdown("**Accuracy per digit**")
    _draw(right, charts.per_class(inside_charts.per_class(cm)), "inside_per_class")
    _gallery(snap, cm, cell, x_test, y_test)

    st.subheader(f"What the first layer looks for, at epoch {epoch}")
    _weights(run, epoch, snaps, snap, blank)

    st.subheader(f"The hidden space at epoch {epoch}")
    st.markdown("The last hidden layer's activations for 2,000 fixed test images, flattened to two dimensions "
                "(principal components, turned to line up with the previous snapshot). Colour is the true "
                "digit, crosses are mistakes; hover a point to see its digit. Play from epoch 1 to watch the "
                "digits pull apart.")
    st.html(inside_charts.TOOLTIP_STYLE)
    hidden = inside_charts.hidden_space(snap, sample_urls(ds, snap["sample_ids"]), inside_charts.hidden_limit(snaps))
    _draw(st, hidden, "inside_hidden")

    st.subheader("Histograms per layer over the epochs")
    kind = st.segmented_control("Show", list(inside_charts.KIND_LABELS), default="weights",
                                format_func=inside_charts.KIND_LABELS.get, key="inside_kind") or "weights"
    st.caption("Each column is a snapshot, each row a bin (fixed per layer for the whole run); darker means more "
               "values there. The red frame is the slider's epoch. Pre-activations are on the 2,000 test "
               "images, gradients on 1,000 training images.")
    layers = len(snap[f"hist_{kind}"])
    cols = st.columns(min(layers, 3))
    for layer in range(layers):
        _draw(cols[layer % len(cols)], inside_charts.histogram_heatmap(snaps, kind, layer, epoch),
              f"inside_hist_{layer}")
    if any("dead_units" in h for h in history):
        left, right = st.columns(2)
        _draw(left, charts.layer_health(history, "dead_units", "Units that never activate"), "inside_dead")
        _draw(right, charts.layer_health(history, "grad_norm", "Gradient norm (log)", log=True), "inside_grad")

    if st.session_state.get("inside_playing"):
        if epoch == epochs[-1]:
            st.session_state["inside_playing"] = False
        else:
            time.sleep(PLAY_SECONDS)
            st.session_state["inside_next"] = epochs[epochs.index(epoch) + 1]
            _rerun()


def _gallery(snap: dict, cm: np.ndarray, cell, x_test, y_test) -> None:
    if x_test is None:
        st.info("The test images are not available here, so the misclassified gallery cannot be shown.")
        return
    if cell is not None and cell[0] == cell[1]:
        st.caption(f"The diagonal cell ({cell[0]}, {cell[1]}) holds the {cm[cell]:,} images the network got "
                   f"right; click a cell off the diagonal to see mistakes.")
        cell = None
    if cell is not None:
        wrong = inside_charts.mistakes(snap, y_test, cell=cell)
        st.markdown(f"**True {cell[0]}, said {cell[1]}**: {len(wrong):,} test images, most confident mistakes "
                    f"first (captions: true → said (its probability); the true digit's probability).")
    else:
        st.markdown(f"**Misclassified test images**: {int(cm.sum() - np.trace(cm)):,} of {int(cm.sum()):,}, "
                    f"most confident mistakes first.")
        digit = st.segmented_control("True digit", ["all", *range(10)], default="all", key="inside_digit")
        wrong = inside_charts.mistakes(snap, y_test, digit=None if digit in (None, "all") else digit)
    if not wrong:
        st.caption("No mistakes here at this epoch.")
        return
    shown = wrong[:GALLERY]
    st.image([(x_test[m["index"]].reshape(28, 28) * 255).astype(np.uint8) for m in shown],
             caption=[m["caption"] for m in shown], width=84)
    if len(wrong) > GALLERY:
        st.caption(f"Showing the {GALLERY} most confident of {len(wrong):,}.")


def _weights(run, epoch: int, snaps: dict[int, dict], snap: dict, blank) -> None:
    st.markdown("Each picture is one unit of the first hidden layer: the weight it gives each pixel (red "
                "positive, blue negative, white zero; each unit scaled on its own). A PCA run's weights are "
                "projected back to pixels. *Pushes towards* is the digit whose logit the unit raises most "
                "through the later layers' weights (activations and batch norm left out). Grey pixels are blank in "
                "nearly every training image: their weights never move from their random start.")
    units = len(snap["first_weights"])
    left, right = st.columns([2, 1])
    sort = left.selectbox("Order", list(inside_charts.SORTS), key="inside_sort")
    if units > MAX_UNITS_SHOWN:
        right.caption(f"The first {MAX_UNITS_SHOWN} of {units:,} units in this order.")
    urls = _unit_urls(str(run.path), epoch, id(snap), snap, blank)
    # The grid keeps its own width (33 px a column, like its rows); stretched to the page, its columns drift apart.
    event = _draw(st, inside_charts.weight_grid(snap, sort, MAX_UNITS_SHOWN, urls), "inside_units", on_select="rerun",
                  width="content")
    picked = (event or {}).get("selection", {}).get("unit") or []
    if not picked:
        st.caption("Click a unit to see how its picture formed over the epochs.")
        return
    unit = int(picked[0]["unit"])
    if not 0 <= unit < units:
        return
    pics, captions = inside_charts.unit_pictures(snaps, unit, blank)
    st.markdown(f"**Unit {unit} over the epochs**")
    st.image(pics, caption=captions, width=84)
