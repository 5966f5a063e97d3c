"""The Train page's controls, generated from RunConfig's table of fields, and the shareable link.

Each field's bounds, label and help come from ``mnist_core.config.FIELDS``; this module only adds
presentation: which widget, and a few "nice" values for the sliders. Whatever the widgets or the URL
say, the result goes through RunConfig's validation, so no bound can be bypassed.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from mnist_core.config import FIELD_BY_NAME as F
from mnist_core.config import ConfigError, RunConfig
from mnist_core.data import DISPLAY_NAMES

from . import notes

K = "cfg_"  # session-state keys of the controls
UNITS = (1, 2, 4, 8, 10, 16, 20, 30, 32, 50, 64, 100, 128, 150, 200, 256, 300, 400, 500, 512, 784,
         1000, 1024, 1568, 2000, 2048, 3000, 4096)
NEW_LAYER_UNITS = 100
LEARNING_RATES = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0,
                  2.0, 5.0, 10.0)
BATCH_SIZES = (1, 8, 16, 32, 50, 64, 70, 100, 128, 256, 512, 1024, 4096, 10000, 60000)
TRAIN_EXAMPLES = (1000, 2000, 5000, 10000, 20000, 30000, 60000)
PCA_VARIANCES = tuple(round(v / 100, 2) for v in range(50, 100)) + (0.995, 0.999)


def _options(nice: tuple, value, field) -> list:
    """The nice values within the field's bounds, plus the current value (a link may ask for any)."""
    return sorted({v for v in nice if field.lo <= v <= field.hi} | {value})


def _state_of(config: RunConfig) -> dict:
    """The controls' session-state values that show ``config``."""
    values = {K + name: getattr(config, name) for name in (
        "dataset", "activation", "batch_norm", "optimizer", "learning_rate", "batch_size", "epochs", "seed",
        "train_examples")}
    values[K + "layers"] = len(config.hidden)
    for i in range(4):
        values[f"{K}units_{i + 1}"] = config.hidden[i] if i < len(config.hidden) else NEW_LAYER_UNITS
    values[K + "pca_on"] = config.uses_pca
    values[K + "pca_mode"] = "variance" if config.pca_variance else "components"
    values[K + "pca"] = config.pca or 154
    values[K + "pca_variance"] = config.pca_variance or 0.95
    return values


def set_state(config: RunConfig) -> None:
    """Put a config into the controls' session state (before the widgets are drawn)."""
    st.session_state.update(_state_of(config))
    st.session_state["_cfg_last"] = config


def _restore_missing() -> None:
    """Streamlit forgets a widget's value once a run ends without drawing it: a layer's units after
    the layer count went down, or every control after a run cut short by a quick second click. Such
    values come back from the last complete settings (kept under a key no widget owns)."""
    s = st.session_state
    for key, value in _state_of(s.get("_cfg_last") or RunConfig()).items():
        if key not in s:
            s[key] = value


def load_from_link(fashion_available: bool) -> list[str]:
    """Once per browser session, set the controls from the URL; return warnings about bad values."""
    s = st.session_state
    if not s.get("_cfg_loaded"):
        config, warnings = RunConfig.from_query(st.query_params.to_dict())
        if config.dataset == "fashion_mnist" and not fashion_available:
            warnings.append("The link asks for Fashion-MNIST, which is not installed here; using MNIST.")
            config = config.replace(dataset="mnist")
        set_state(config)
        s["_cfg_loaded"], s["_cfg_warnings"] = True, warnings
    return s["_cfg_warnings"]


def sync_link(config: RunConfig | None, run_id: str | None) -> None:
    """Keep the URL equal to the current settings (only those differing from the defaults)."""
    wanted = config.to_query() if config else {k: v for k, v in st.query_params.to_dict().items() if k != "run"}
    if run_id:
        wanted["run"] = run_id
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def render(fashion_available: bool, variance_curve: Callable[[str], object]) -> tuple[RunConfig | None, str | None]:
    """Draw every control; return (config, None) or (None, a sentence saying what is wrong)."""
    s = st.session_state
    _restore_missing()
    datasets = ["mnist"] + (["fashion_mnist"] if fashion_available else [])
    dataset = st.selectbox(F["dataset"].label, datasets, key=K + "dataset", format_func=DISPLAY_NAMES.get,
                           help=F["dataset"].help + ("" if fashion_available else
                                                     " Fashion-MNIST appears when it is installed."))

    st.subheader("Network")
    layers = st.slider("Hidden layers", 1, 4, key=K + "layers", help=F["hidden"].help)
    hidden = []
    for i in range(1, layers + 1):
        key = f"{K}units_{i}"
        hidden.append(st.select_slider(f"Units in layer {i}", _options(UNITS, s[key], F["hidden"]), key=key))
    activation = st.selectbox(F["activation"].label, F["activation"].choices, key=K + "activation",
                              help=F["activation"].help)
    st.caption(notes.ACTIVATION[activation])
    batch_norm = st.toggle(F["batch_norm"].label, key=K + "batch_norm", help=F["batch_norm"].help)
    st.caption(notes.BATCH_NORM)

    st.subheader("Inputs")
    pca = pca_variance = 0
    if st.toggle("PCA input compression", key=K + "pca_on", help=F["pca"].help):
        mode = st.segmented_control("Choose PCA by", ["components", "variance"], key=K + "pca_mode",
                                    format_func={"components": "Component count",
                                                 "variance": "Variance kept"}.get) or "components"
        curve = variance_curve(dataset)
        if mode == "components":
            pca = st.slider(F["pca"].label, int(F["pca"].lo), int(F["pca"].hi), key=K + "pca")
            if curve is not None:
                st.caption(f"{pca} components keep **{curve[pca - 1]:.1%}** of the pixel variance.")
        else:
            pca_variance = st.select_slider(F["pca_variance"].label,
                                            _options(PCA_VARIANCES, s[K + "pca_variance"], F["pca_variance"]),
                                            key=K + "pca_variance", format_func=lambda v: f"{v:.1%}")
            if curve is not None:
                st.caption(f"Keeping {pca_variance:.1%} needs **{int((curve < pca_variance).sum()) + 1}** "
                           f"components.")
        if curve is not None:
            from . import charts
            st.altair_chart(charts.variance_curve(curve, pca or int((curve < pca_variance).sum()) + 1))
        else:
            st.caption("Loading the dataset to measure the variance each component keeps...")
        st.caption(notes.PCA)
    train_examples = st.select_slider(F["train_examples"].label,
                                      _options(TRAIN_EXAMPLES, s[K + "train_examples"], F["train_examples"]),
                                      key=K + "train_examples", help=F["train_examples"].help,
                                      format_func=lambda v: f"{v:,}")

    st.subheader("Learning")
    optimizer = st.selectbox(F["optimizer"].label, F["optimizer"].choices, key=K + "optimizer",
                             help=F["optimizer"].help)
    st.caption(notes.OPTIMIZER[optimizer])
    learning_rate = st.select_slider(F["learning_rate"].label + " (log scale)",
                                     _options(LEARNING_RATES, s[K + "learning_rate"], F["learning_rate"]),
                                     key=K + "learning_rate", format_func=lambda v: f"{v:g}",
                                     help=notes.LEARNING_RATE)
    batch_size = st.select_slider(F["batch_size"].label, _options(BATCH_SIZES, s[K + "batch_size"],
                                                                  F["batch_size"]),
                                  key=K + "batch_size", help=F["batch_size"].help, format_func=lambda v: f"{v:,}")
    epochs = st.number_input(F["epochs"].label, int(F["epochs"].lo), int(F["epochs"].hi), key=K + "epochs",
                             help=F["epochs"].help)
    seed = st.number_input(F["seed"].label, int(F["seed"].lo), int(F["seed"].hi), key=K + "seed",
                           help=F["seed"].help)
    try:
        config = RunConfig(dataset=dataset, hidden=tuple(hidden), activation=activation, batch_norm=batch_norm,
                           pca=pca, pca_variance=pca_variance, optimizer=optimizer,
                           learning_rate=learning_rate, batch_size=batch_size, epochs=int(epochs),
                           seed=int(seed), train_examples=train_examples)
    except ConfigError as e:
        return None, str(e)
    s["_cfg_last"] = config
    return config, None
