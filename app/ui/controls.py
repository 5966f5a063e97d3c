"""The Train page's controls, generated from RunConfig's table of fields, and the shareable link.

Each field's bounds, label and help come from ``mnist_core.config.FIELDS``; this module only adds
presentation: which widget, and a few "nice" values for the sliders. Whatever the widgets or the URL
say, the result goes through RunConfig's validation, so no bound can be bypassed.
"""

from __future__ import annotations

from typing import Callable

import streamlit as st

from mnist_core.config import FIELD_BY_NAME as F
from mnist_core.config import ConfigError, RunConfig, field_names
from mnist_core import data
from mnist_core.data import DISPLAY_NAMES

from . import notes, services

K = "cfg_"  # session-state keys of the controls
UNITS = (1, 2, 4, 8, 10, 16, 20, 30, 32, 50, 64, 100, 128, 150, 200, 256, 300, 400, 500, 512, 784,
         1000, 1024, 1568, 2000, 2048, 3000, 4096)
NEW_LAYER_UNITS = 100
LEARNING_RATES = (0.0001, 0.0002, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0,
                  2.0, 5.0, 10.0)
BATCH_SIZES = (1, 8, 16, 32, 50, 64, 70, 100, 128, 256, 512, 1024, 4096, 10000, 60000)
TRAIN_EXAMPLES = (1000, 2000, 5000, 10000, 20000, 30000, 60000)
PCA_VARIANCES = tuple(round(v / 100, 2) for v in range(50, 100)) + (0.995, 0.999)
DROPOUTS = tuple(round(v / 20, 2) for v in range(0, 19))  # 0, 0.05, ... 0.9
PENALTIES = (0.0, 1e-6, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3, 3e-3, 1e-2, 0.1)
NORMS = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 4.0, 5.0, 10.0)
DECAY_RATES = (0.05, 0.1, 0.2, 0.3, 0.5, 0.7, 0.8, 0.9, 0.95, 0.99)
VALIDATIONS = (0, 500, 1000, 2000, 5000, 10000)
TOOLKIT = ("init", "dropout", "l1", "l2", "max_norm", "clip_norm", "schedule", "decay_rate", "decay_epochs",
           "validation", "patience")


@st.cache_data(show_spinner="Measuring how much variance each PCA component keeps...", max_entries=4)
def variance_curve(dataset: str):
    """Cumulative explained variance per PCA component count (None while the dataset is not on disk)."""
    if services.dataset_state(dataset)[0] != "ready":
        return None
    try:
        return data.cumulative_variance(services.dataset(dataset))
    except data.DataError:  # unusable files: the page explains them, from services.dataset_state
        return None


def _options(nice: tuple, value, field) -> list:
    """The nice values within the field's bounds, plus the current value (a link may ask for any)."""
    return sorted({v for v in nice if field.lo <= v <= field.hi} | {value})


def _state_of(config: RunConfig) -> dict:
    """The controls' session-state values that show ``config``."""
    values = {K + name: getattr(config, name) for name in (
        "dataset", "activation", "batch_norm", "bn_eval", "optimizer", "learning_rate", "batch_size", "epochs", "seed",
        "train_examples", *TOOLKIT)}
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
    """Once per browser session, set the controls from the URL; return warnings about bad values.

    ``hide=`` and ``lock=`` (comma-separated setting names) keep those settings at the link's values for
    the whole session: hidden ones are not drawn, locked ones are drawn disabled (see ``link_access``)."""
    s = st.session_state
    if not s.get("_cfg_loaded"):
        params = st.query_params.to_dict()
        config, warnings = RunConfig.from_query(params)
        if config.dataset == "fashion_mnist" and not fashion_available:
            warnings.append("The link asks for Fashion-MNIST, which is not installed here; using MNIST.")
            config = config.replace(dataset="mnist")
        hide, hide_warnings = field_names(params.get("hide", ""), "hide")
        lock, lock_warnings = field_names(params.get("lock", ""), "lock")
        set_state(config)
        s["_cfg_access"] = Access(hide, lock, config)
        s["_cfg_loaded"] = True
        s["_cfg_warnings"] = warnings + hide_warnings + lock_warnings + unknown_params(params)
    return s["_cfg_warnings"]


def link_access() -> Access:
    """The settings this browser session's link hides or locks, at the link's values."""
    return st.session_state.get("_cfg_access") or OPEN


KEPT_PARAMS = ("hide", "lock", "present")  # link parameters that are not settings, kept when the settings change
LINK_PARAMS = ("run", *KEPT_PARAMS)  # every parameter the Train page's link may have besides the settings


def unknown_params(params: dict) -> list[str]:
    """A warning naming the link's parameters that are neither settings nor LINK_PARAMS (a typo such as
    ?epoch=5 would otherwise be dropped without a word), or none."""
    unknown = [k for k in params if k not in F and k not in LINK_PARAMS]
    if not unknown:
        return []
    named = ", ".join(repr(k if len(k) <= 40 else k[:40] + "...") for k in unknown[:5])
    more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
    return [f"Ignored the link's unknown parameter{'s' * (len(unknown) > 1)} {named}{more}: the settings are "
            f"{', '.join(F)}."]


def sync_link(config: RunConfig | None, run_id: str | None) -> None:
    """Keep the URL equal to the current settings (only those differing from the defaults)."""
    current = st.query_params.to_dict()
    wanted = config.to_query() if config else {k: v for k, v in current.items() if k != "run"}
    wanted.update({k: current[k] for k in KEPT_PARAMS if k in current})
    if run_id:
        wanted["run"] = run_id
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


class Access:
    """Which settings a link or a lesson keeps from the student: hidden ones are not drawn, locked ones are
    drawn disabled. Both keep ``fixed``'s value whatever the widgets (or a crafted browser message) say:
    the value comes from the link or the lesson file on the server, never from the widget."""

    def __init__(self, hide=(), lock=(), fixed: RunConfig | None = None):
        self.hide, self.lock = frozenset(hide), frozenset(lock) - frozenset(hide)
        self.fixed = fixed or RunConfig()

    def hides(self, *names: str) -> bool:
        return any(n in self.hide for n in names)

    def pins(self, name: str) -> bool:
        return name in self.hide or name in self.lock

    def shows_any(self, *names: str) -> bool:
        return any(n not in self.hide for n in names)

    def __bool__(self) -> bool:
        return bool(self.hide or self.lock)


OPEN = Access()


def _pinned_state(access: Access) -> None:
    """Put the fixed values of locked and hidden settings into the widgets' state before they are drawn."""
    if not access:
        return
    pinned = _state_of(access.fixed)
    keys = {name: [K + name] for name in F}
    keys["hidden"] = [K + "layers"] + [f"{K}units_{i}" for i in range(1, 5)]
    keys["pca"] = keys["pca_variance"] = [K + "pca_on", K + "pca_mode", K + "pca", K + "pca_variance"]
    for name in access.hide | access.lock:
        for key in keys.get(name, []):
            if key in pinned:
                st.session_state[key] = pinned[key]


def _setting_text(config: RunConfig, name: str) -> str:
    value = getattr(config, name)
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return "-".join(map(str, value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _pick(access: Access, name: str, value):
    return getattr(access.fixed, name) if access.pins(name) else value


def render(fashion_available: bool, variance_curve: Callable[[str], object],
           access: Access = OPEN, caption_hidden: bool = True) -> tuple[RunConfig | None, str | None]:
    """Draw every control the access allows; return (config, None) or (None, a sentence saying what is wrong)."""
    s = st.session_state
    _restore_missing()
    _pinned_state(access)
    off = access.lock.__contains__  # a locked setting's widget is drawn disabled
    if access.hide and caption_hidden:
        st.caption("Set by the link: " + ", ".join(
            f"{F[n].label.lower()} {_setting_text(access.fixed, n)}" for n in F if n in access.hide) + ".")
    datasets = ["mnist"] + (["fashion_mnist"] if fashion_available else [])
    if access.fixed.dataset not in datasets:
        datasets.append(access.fixed.dataset)
    dataset = access.fixed.dataset
    if not access.hides("dataset"):
        dataset = _pick(access, "dataset", st.selectbox(
            F["dataset"].label, datasets, key=K + "dataset", format_func=DISPLAY_NAMES.get, disabled=off("dataset"),
            help=F["dataset"].help + ("" if fashion_available else " Fashion-MNIST appears when it is installed.")))

    if access.shows_any("hidden", "activation", "batch_norm"):
        st.subheader("Network")
    hidden = list(access.fixed.hidden)
    if not access.hides("hidden"):
        layers = st.slider("Hidden layers", 1, 4, key=K + "layers", help=F["hidden"].help, disabled=off("hidden"))
        hidden = []
        for i in range(1, layers + 1):
            key = f"{K}units_{i}"
            hidden.append(st.select_slider(f"Units in layer {i}", _options(UNITS, s[key], F["hidden"]), key=key,
                                           disabled=off("hidden")))
        hidden = _pick(access, "hidden", hidden)
    activation = access.fixed.activation
    if not access.hides("activation"):
        activation = _pick(access, "activation", st.selectbox(
            F["activation"].label, F["activation"].choices, key=K + "activation", help=F["activation"].help,
            disabled=off("activation")))
        st.caption(notes.ACTIVATION[activation])
    batch_norm = access.fixed.batch_norm
    if not access.hides("batch_norm"):
        batch_norm = _pick(access, "batch_norm", st.toggle(F["batch_norm"].label, key=K + "batch_norm",
                                                           help=F["batch_norm"].help, disabled=off("batch_norm")))
        st.caption(notes.BATCH_NORM)
    bn_eval = access.fixed.bn_eval if batch_norm else "moving"
    if batch_norm and not access.hides("bn_eval"):
        bn_eval = _pick(access, "bn_eval", st.radio(
            F["bn_eval"].label, F["bn_eval"].choices, key=K + "bn_eval", help=F["bn_eval"].help, horizontal=True,
            disabled=off("bn_eval"), format_func={"moving": "moving averages", "batch": "the notebook's (batch)"}.get))

    if access.shows_any("pca", "pca_variance", "train_examples"):
        st.subheader("Inputs")
    pca, pca_variance = access.fixed.pca, access.fixed.pca_variance
    # The two PCA settings share one switch: hiding either hides both; with only one of them free,
    # the student chooses within that mode (the other stays at the fixed value).
    pca_shown = not access.hides("pca", "pca_variance")
    pca_off = off("pca") and off("pca_variance")
    if pca_shown and st.toggle("PCA input compression", key=K + "pca_on", help=F["pca"].help, disabled=pca_off):
        one_mode = access.pins("pca") or access.pins("pca_variance")
        if one_mode and not pca_off:
            s[K + "pca_mode"] = "variance" if access.pins("pca") else "components"
        mode = st.segmented_control("Choose PCA by", ["components", "variance"], key=K + "pca_mode",
                                    disabled=one_mode,
                                    format_func={"components": "Component count",
                                                 "variance": "Variance kept"}.get) or "components"
        pca = pca_variance = 0
        curve = variance_curve(dataset)
        if mode == "components":
            pca = _pick(access, "pca", st.slider(F["pca"].label, int(F["pca"].lo), int(F["pca"].hi), key=K + "pca",
                                                 disabled=off("pca")))
            if curve is not None:
                st.caption(f"{pca} components keep **{curve[pca - 1]:.1%}** of the pixel variance.")
        else:
            pca_variance = _pick(access, "pca_variance", st.select_slider(
                F["pca_variance"].label, _options(PCA_VARIANCES, s[K + "pca_variance"], F["pca_variance"]),
                key=K + "pca_variance", format_func=lambda v: f"{v:.1%}", disabled=off("pca_variance")))
            if curve is not None:
                st.caption(f"Keeping {pca_variance:.1%} needs **{int((curve < pca_variance).sum()) + 1}** "
                           f"components.")
        if curve is not None:
            from . import charts
            st.altair_chart(charts.variance_curve(curve, pca or int((curve < pca_variance).sum()) + 1))
        else:
            st.caption("Loading the dataset to measure the variance each component keeps...")
        st.caption(notes.PCA)
    elif pca_shown:
        pca = pca_variance = 0
    if pca_off:
        pca, pca_variance = access.fixed.pca, access.fixed.pca_variance
    train_examples = access.fixed.train_examples
    if not access.hides("train_examples"):
        train_examples = _pick(access, "train_examples", st.select_slider(
            F["train_examples"].label, _options(TRAIN_EXAMPLES, s[K + "train_examples"], F["train_examples"]),
            key=K + "train_examples", help=F["train_examples"].help, format_func=lambda v: f"{v:,}",
            disabled=off("train_examples")))

    if access.shows_any("optimizer", "learning_rate", "batch_size", "epochs", "seed"):
        st.subheader("Learning")
    optimizer = access.fixed.optimizer
    if not access.hides("optimizer"):
        optimizer = _pick(access, "optimizer", st.selectbox(
            F["optimizer"].label, F["optimizer"].choices, key=K + "optimizer", help=F["optimizer"].help,
            disabled=off("optimizer")))
        st.caption(notes.OPTIMIZER[optimizer])
    learning_rate = access.fixed.learning_rate
    if not access.hides("learning_rate"):
        learning_rate = _pick(access, "learning_rate", st.select_slider(
            F["learning_rate"].label + " (log scale)",
            _options(LEARNING_RATES, s[K + "learning_rate"], F["learning_rate"]), key=K + "learning_rate",
            format_func=lambda v: f"{v:g}", help=notes.LEARNING_RATE, disabled=off("learning_rate")))
    batch_size = access.fixed.batch_size
    if not access.hides("batch_size"):
        batch_size = _pick(access, "batch_size", st.select_slider(
            F["batch_size"].label, _options(BATCH_SIZES, s[K + "batch_size"], F["batch_size"]),
            key=K + "batch_size", help=F["batch_size"].help, format_func=lambda v: f"{v:,}",
            disabled=off("batch_size")))
    epochs = access.fixed.epochs
    if not access.hides("epochs"):
        epochs = _pick(access, "epochs", st.number_input(
            F["epochs"].label, int(F["epochs"].lo), int(F["epochs"].hi), key=K + "epochs", help=F["epochs"].help,
            disabled=off("epochs")))
    seed = access.fixed.seed
    if not access.hides("seed"):
        seed = _pick(access, "seed", st.number_input(F["seed"].label, int(F["seed"].lo), int(F["seed"].hi),
                                                     key=K + "seed", help=F["seed"].help, disabled=off("seed")))
    toolkit = _toolkit(access, off)
    try:
        config = RunConfig(dataset=dataset, hidden=tuple(hidden), activation=activation, batch_norm=batch_norm,
                           bn_eval=bn_eval, pca=pca, pca_variance=pca_variance, optimizer=optimizer,
                           learning_rate=learning_rate, batch_size=batch_size, epochs=int(epochs),
                           seed=int(seed), train_examples=train_examples, **toolkit)
    except ConfigError as e:
        return None, str(e)
    s["_cfg_last"] = config
    return config, None


def _off(v) -> str:
    return "off" if v == 0 else f"{v:g}"


def _toolkit(access: Access, off: Callable[[str], bool]) -> dict:
    """Initialiser, regularisation, schedule, validation and early stopping: the chapter after the
    notebook's. In an expander that opens by itself when any of them is set; a link or lesson may hide
    or lock each of them like any other setting."""
    s = st.session_state
    values = {name: getattr(access.fixed, name) for name in TOOLKIT}
    if not access.shows_any(*TOOLKIT):
        return values
    default = RunConfig()
    changed = any(s.get(K + name) != getattr(default, name) for name in TOOLKIT)
    for name in ("decay_rate", "decay_epochs"):  # not drawn with other schedules: keep the last value
        if not access.pins(name):
            values[name] = s.get(K + name, values[name])

    def widget(name: str, draw: Callable, nice: tuple | None = None, **kw) -> None:
        if access.hides(name):
            return
        if nice is not None:  # a slider of nice values, plus the current one
            kw["options"] = _options(nice, s[K + name], F[name])
        values[name] = _pick(access, name, draw(F[name].label, key=K + name, help=F[name].help,
                                                disabled=off(name), **kw))

    with st.expander("Regularisation, schedule, validation", expanded=changed):
        widget("init", st.selectbox, options=F["init"].choices)
        widget("dropout", st.select_slider, DROPOUTS, format_func=lambda v: "off" if v == 0 else f"{v:.0%}")
        for name in ("l1", "l2"):
            widget(name, st.select_slider, PENALTIES, format_func=_off)
        for name in ("max_norm", "clip_norm"):
            widget(name, st.select_slider, NORMS, format_func=_off)
        st.caption(notes.REGULARISATION)
        widget("schedule", st.selectbox, options=F["schedule"].choices, format_func=lambda v: v.replace("_", " "))
        if values["schedule"] in ("exponential", "step", "plateau"):
            widget("decay_rate", st.select_slider, DECAY_RATES, format_func=lambda v: f"×{v:g}")
            widget("decay_epochs", st.number_input, min_value=int(F["decay_epochs"].lo),
                   max_value=int(F["decay_epochs"].hi))
        st.caption(notes.SCHEDULE[values["schedule"]])
        widget("validation", st.select_slider, VALIDATIONS, format_func=lambda v: "off" if v == 0 else f"{v:,}")
        widget("patience", st.number_input, min_value=0, max_value=int(F["patience"].hi))
    values["decay_epochs"], values["patience"] = int(values["decay_epochs"]), int(values["patience"])
    return values
