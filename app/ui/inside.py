"""Run details, inside the network: one epoch slider for everything the run's snapshots keep.

Moving the slider (or pressing Play) redraws, at that epoch: the confusion matrix (click a cell to see
exactly those test images), accuracy per digit, the misclassified gallery, the first layer's weights
as pictures (click one to follow it over the epochs), the hidden space of 2,000 test images, and the
histograms of every layer. The slider steps through stored snapshots only: nothing is interpolated.
Everything lives in one fragment, so moving the slider reruns this part of the page, not all of it.

A slider move should feel instant, so its cost is paid ahead: each chart keeps one spec at every epoch
(only its data changes, which the browser swaps in place), each epoch's charts are kept once per
server for every session, and the other epochs' charts are built in the background when a run opens.
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import streamlit as st
from streamlit import dataframe_util
from streamlit.errors import StreamlitAPIException

from mnist_core import snapshots
from ui import charts, inside_charts

GALLERY = 40
MAX_UNITS_SHOWN = 300
PLAY_SECONDS = 0.8


@st.cache_resource(max_entries=6, show_spinner=False)
def _load(path: str, stamp: tuple) -> tuple[dict, list]:
    return snapshots.load_all(Path(path))


def _stamp(run) -> tuple:
    """The run's snapshot files as (name, modified, size): a new or rewritten file changes it."""
    folder = run.path / snapshots.FOLDER
    if not folder.is_dir() or folder.is_symlink():
        return ()
    files = sorted(p for p in folder.iterdir() if p.suffix == ".npz")
    return tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files if p.is_file())


def load(run) -> tuple[dict[int, dict], list[str]]:
    """The run's valid snapshots by epoch and a sentence per skipped file; re-read when files change."""
    return _load(str(run.path), _stamp(run))


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


def _spec(chart, key: str) -> dict:
    """An Altair chart as a Vega-Lite dict, made without Altair's schema validation (which costs more than
    building the chart, a tenth of a second each, several a redraw), its datasets as Arrow bytes.

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
    # The bytes Streamlit itself would make from these rows (it takes bytes as they are).
    spec["datasets"] = {f"{key}_{i}": dataframe_util.convert_anything_to_arrow_bytes(values)
                        for i, values in enumerate(datasets.values())}
    return spec


_SPECS: OrderedDict = OrderedDict()  # (key, ident) -> spec, newest last; shared by sessions and the thread below
_SPECS_LOCK = threading.Lock()
MAX_SPECS = 240  # about 4 runs' worth of every view at every epoch (tens of MB)


def _kept_spec(key: str, ident: tuple, build) -> dict:
    with _SPECS_LOCK:
        if (key, ident) in _SPECS:
            _SPECS.move_to_end((key, ident))
            return _SPECS[key, ident]
    spec = _spec(build(), key)  # built outside the lock: two sessions may both build it, with one result
    with _SPECS_LOCK:
        _SPECS[key, ident] = spec
        while len(_SPECS) > MAX_SPECS:
            _SPECS.popitem(last=False)
    return spec


def _builders(files: tuple, snaps: dict[int, dict], epoch: int, blank, urls, sort=None, kind=None) -> dict:
    """Each chart of the section at ``epoch``, by key: (what it is made of, a function building it).
    ``files`` names the snapshots: (the run's folder, ``_stamp`` of its files)."""
    snap = snaps[epoch]
    cm = snap["confusion"].astype(np.int64)
    at = (*files, epoch)
    made = {"inside_confusion": (at, lambda: inside_charts.confusion(cm)),
            "inside_per_class": (at, lambda: charts.per_class(inside_charts.per_class(cm))),
            "inside_hidden": ((*at, urls is None), lambda: inside_charts.hidden_space(
                snap, urls, inside_charts.hidden_frame(snaps)))}
    if sort is not None:
        made["inside_units"] = ((*at, sort, blank is None), lambda: inside_charts.weight_grid(
            snap, sort, MAX_UNITS_SHOWN, blank))
    if kind is not None:
        for layer in range(len(snap[f"hist_{kind}"])):
            made[f"inside_hist_{layer}"] = ((*at, kind, layer), lambda layer=layer: inside_charts.histogram_heatmap(
                snaps, kind, layer, epoch))
    return made


_AHEAD = ThreadPoolExecutor(max_workers=1, thread_name_prefix="inside-ahead")
_ahead_done: set = set()
MAX_AHEAD_WAITING = 3
_waiting = [0]  # runs queued for the thread, not started yet


def _build_ahead(files: tuple, snaps: dict[int, dict], epoch: int, blank, urls, sort, kind) -> None:
    """Build the other epochs' charts in one background thread, nearest epochs first, once per run and
    view: the slider's first move to an epoch then costs a lookup. (The thread runs at the lowest
    priority the system gives it, so a training or another page is not slowed for long.)"""
    token = (*files, urls is None, blank is None, sort, kind)
    with _SPECS_LOCK:
        # At most a few runs wait: a visitor opening run after run does not queue work for minutes
        # (a run skipped here still draws each epoch when the slider reaches it).
        if token in _ahead_done or _waiting[0] >= MAX_AHEAD_WAITING:
            return
        if len(_ahead_done) > 100:
            _ahead_done.clear()
        _ahead_done.add(token)
        _waiting[0] += 1

    def build_all():
        with _SPECS_LOCK:
            _waiting[0] -= 1
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)
        except (AttributeError, OSError):
            pass
        epochs = list(snaps)
        for e in sorted(epochs, key=lambda e: abs(epochs.index(e) - epochs.index(epoch))):
            for key, (ident, build) in _builders(files, snaps, e, blank, urls, sort, kind).items():
                _kept_spec(key, ident, build)

    _AHEAD.submit(build_all)


def _draw(where, chart, key: str, ident: tuple | None = None, **select):
    """Draw ``chart``; with ``ident`` (what the chart is made of: run, snapshot files, epoch, view),
    ``chart`` is a function that builds it, and its spec is made once per server for everyone: moving
    the slider back to an epoch, Play, or a class opening the same run cost no rebuild."""
    spec = _spec(chart, key) if ident is None else _kept_spec(key, ident, chart)
    # Streamlit moves the datasets out of the dict it is given: it gets a copy, the kept spec stays whole.
    return where.vega_lite_chart({**copy.deepcopy({k: v for k, v in spec.items() if k != "datasets"}),
                                  "datasets": dict(spec["datasets"])}, key=key, **select)


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
    urls = sample_urls(ds, snap["sample_ids"])  # the same images at every epoch
    files = (str(run.path), _stamp(run))  # which snapshots these are, looked up once a redraw

    def draw(where, key: str, sort=None, kind=None, **select):
        ident, build = _builders(files, snaps, epoch, blank, urls, sort, kind)[key]
        return _draw(where, build, key, ident, **select)

    st.subheader(f"Where it goes wrong at epoch {epoch}")
    left, right = st.columns(2)
    left.markdown("**Confusion matrix** (rows: true digit; columns: what the model said). Click a cell to "
                  "see its images; double-click to clear.")
    event = draw(left, "inside_confusion", on_select="rerun", selection_mode=["cell", "cell_text"])
    chosen = (event or {}).get("selection", {})
    picked = chosen.get("cell") or chosen.get("cell_text") or []
    cell = (int(picked[0]["true"]), int(picked[0]["predicted"])) if picked else None
    right.markdown("**Accuracy per digit**")
    draw(right, "inside_per_class")
    _gallery(snap, cm, cell, x_test, y_test)

    st.subheader(f"What the first layer looks for, at epoch {epoch}")
    sort = _weights(snaps, snap, blank, draw)

    st.subheader(f"The hidden space at epoch {epoch}")
    st.markdown("The last hidden layer's activations for 2,000 fixed test images, flattened to two dimensions "
                "(principal components, turned to line up with the previous snapshot). Colour is the true "
                "digit, crosses are mistakes; hover a point to see its digit. Play from epoch 1 to watch the "
                "digits pull apart.")
    st.html(inside_charts.TOOLTIP_STYLE)
    draw(st, "inside_hidden")

    st.subheader("Histograms per layer over the epochs")
    kind = st.segmented_control("Show", list(inside_charts.KIND_LABELS), default="weights",
                                format_func=inside_charts.KIND_LABELS.get, key="inside_kind") or "weights"
    st.caption("Each column is a snapshot, each row a bin (fixed per layer for the whole run); darker means more "
               "values there. The red frame is the slider's epoch. Pre-activations are on the 2,000 test "
               "images, gradients on 1,000 training images.")
    layers = len(snap[f"hist_{kind}"])
    cols = st.columns(min(layers, 3))
    for layer in range(layers):
        draw(cols[layer % len(cols)], f"inside_hist_{layer}", kind=kind)
    _build_ahead(files, snaps, epoch, blank, urls, sort, kind)

    if st.session_state.get("inside_playing"):
        if epoch == epochs[-1]:
            st.session_state["inside_playing"] = False
        else:
            time.sleep(PLAY_SECONDS)
            st.session_state["inside_next"] = epochs[epochs.index(epoch) + 1]
            _rerun()


def layer_health(history: list[dict]) -> None:
    """Dead units and gradient norms of every epoch (from the run's history, not its snapshots: drawn
    once, outside the slider's section)."""
    if any("dead_units" in h for h in history):
        left, right = st.columns(2)
        _draw(left, charts.layer_health(history, "dead_units", "Units that never activate"), "inside_dead")
        _draw(right, charts.layer_health(history, "grad_norm", "Gradient norm (log)", log=True), "inside_grad")


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


def _weights(snaps: dict[int, dict], snap: dict, blank, draw) -> str:
    """The weight pictures; returns the order chosen."""
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
    # The grid keeps its own width (33 px a column, like its rows); stretched to the page, its columns drift apart.
    event = draw(st, "inside_units", sort=sort, on_select="rerun", width="content")
    picked = (event or {}).get("selection", {}).get("unit") or []
    if not picked:
        st.caption("Click a unit to see how its picture formed over the epochs.")
        return sort
    unit = int(picked[0]["unit"])
    if 0 <= unit < units:
        pics, captions = inside_charts.unit_pictures(snaps, unit, blank)
        st.markdown(f"**Unit {unit} over the epochs**")
        st.image(pics, caption=captions, width=84)
    return sort
