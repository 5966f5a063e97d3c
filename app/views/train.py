"""Train: choose a network in the sidebar, press Train, watch it learn."""

import time

import numpy as np
import streamlit as st

from mnist_core import data, estimate, schedules
from mnist_core.data import DISPLAY_NAMES
from mnist_core.limits import LimitError, duration
from ui import controls, datasets, fmt, identity, live, lr_finder, notes, services


def queue_runs(config, repeat: int, components: int | None):
    """One run, or a group of runs differing only in their seed; this browser owns them. The queue
    refuses the whole group (LimitError) if it would pass the server's limits."""
    group, configs = config.seed_group(repeat, time.strftime("%Y%m%d-%H%M%S"))
    return identity.queue(configs, group, [f"x{repeat} seeds"] if group else None, components)


def over_limit(config, repeat: int, components: int | None) -> str | None:
    """The sentence saying which of the server's limits these settings pass, or None."""
    try:
        services.queue().admit(config.seed_group(repeat, "")[1], by=identity.actor(), pca_components=components)
    except LimitError as e:
        return str(e)
    return None


def schedule_preview(config):
    """Draw the rate at (up to 600) steps of the run, in epochs, as the schedule will set it."""
    from ui import charts

    per_epoch = max(1, config.steps_per_epoch)
    steps = np.unique(np.linspace(0, per_epoch * config.epochs - 1, 600).astype(int))
    note = (f"{per_epoch:,} steps an epoch; cut by ×{config.decay_rate:g} whenever the validation loss stalls "
            f"for {config.decay_epochs} epochs" if config.schedule == "plateau" else
            f"{per_epoch:,} steps an epoch, {per_epoch * config.epochs:,} in all")
    st.caption(f"**Learning rate over the run** ({config.schedule.replace('_', ' ')}): {note}.")
    st.altair_chart(charts.schedule_preview((steps + 1) / per_epoch, schedules.rates(config, steps)))


def _components(config) -> int:
    """Input width with PCA: the count asked for, or the count that keeps the variance asked for."""
    if config.pca:
        return config.pca
    curve = controls.variance_curve(config.dataset)
    return 154 if curve is None else int((curve < config.pca_variance).sum()) + 1


st.title("Train a network")
fashion = services.fashion_available()
for warning in controls.load_from_link(fashion):
    st.warning(fmt.plain(warning))

with st.sidebar:
    config, problem = controls.render(fashion, controls.variance_curve, controls.link_access())

following = st.query_params.get("run")
controls.sync_link(config, following)

dataset = config.dataset if config else "mnist"
state, found = services.dataset_state(dataset)
if state == "download":
    st.info(f"{DISPLAY_NAMES[dataset]} is not on this machine yet. Keras can download it (needs internet).")
    if st.button(f"Download {DISPLAY_NAMES[dataset]}"):
        with st.spinner("Downloading..."):
            failure = services.download(dataset)
        if failure is None:
            st.rerun()
        state, found = "missing", failure
    else:
        st.markdown(notes.MISSING_DATA.format(env=data.ENV_VARS[dataset]))
        st.stop()
if state == "missing":
    datasets.explain(dataset, found)
    st.stop()

limits = services.queue().limits
inputs = None
if problem:
    st.error(fmt.plain(problem))
else:
    inputs = config.input_size(_components(config)) if config.uses_pca else 784
    shape = " → ".join([f"PCA {inputs}" if config.uses_pca else "784", *map(str, config.hidden), "10"])
    guess = estimate.estimate(config, services.store().list(), inputs,
                              calibration=estimate.load_calibration(services.store().user_dir))
    st.markdown(f"**{config.label}** · {shape} · **{config.param_count(inputs):,} parameters** · "
                f"about **{fmt.secs(guess.total_seconds)}** ({fmt.secs(guess.seconds_per_epoch)} per epoch, "
                f"{guess.basis})")
    if config.schedule != "constant":
        schedule_preview(config)

left, middle, right = st.columns([1, 1, 2], vertical_alignment="bottom")
repeat = middle.number_input("Repeat with seeds", 1, 10, 1, key="repeat",
                             help="Train the same settings with this many seeds (seed, seed+1, ...) as one group; "
                                  "Compare can then show the group's mean and spread.")
refused = over_limit(config, int(repeat), inputs if config and config.pca_variance else None) if config else None
if config and not refused and limits.max_run_seconds and guess.total_seconds > limits.max_run_seconds \
        and not identity.actor().teacher:
    st.warning(f"This run would take about {fmt.secs(guess.total_seconds)}, longer than this server's limit of "
               f"{duration(limits.max_run_seconds)} per run: it will be stopped there, keeping the epochs it "
               f"finished.")
if left.button("Train", type="primary", disabled=config is None or refused is not None, width="stretch"):
    try:
        jobs = queue_runs(config, int(repeat), inputs if config.pca_variance else None)
        following = jobs[0].run_id
        controls.sync_link(config, following)
    except LimitError as e:  # another tab queued in the meantime
        refused = str(e)
right.caption("The link in your address bar restores these settings: copy it to share them.")
if refused:
    st.error(refused)  # our own sentence: numbers checked by RunConfig, no user text
if limits.describe() and not identity.actor().teacher:
    st.caption(limits.describe() + " The teacher sets them; the teacher's own runs are not limited.")
if config is not None:
    lr_finder.panel(config)

if following:
    live.show(following)
live.queue_panel()
services.preload_charts()
