"""Train: choose a network in the sidebar, press Train, watch it learn."""

import time

import streamlit as st

from mnist_core import data, estimate
from mnist_core.data import DISPLAY_NAMES
from ui import controls, fmt, live, lr_finder, notes, services


def queue_runs(config, repeat: int):
    """One run, or a group of runs differing only in their seed."""
    group, configs = config.seed_group(repeat, time.strftime("%Y%m%d-%H%M%S"))
    tags = [f"x{repeat} seeds"] if group else None
    return [services.queue().submit(c, group=group, tags=tags) for c in configs]


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
    st.error(fmt.say("{} is not available: {}", DISPLAY_NAMES[dataset], found))
    st.markdown(notes.MISSING_DATA.format(env=data.ENV_VARS[dataset]))
    st.stop()

if problem:
    st.error(fmt.plain(problem))
else:
    inputs = config.input_size(_components(config)) if config.uses_pca else 784
    shape = " → ".join([f"PCA {inputs}" if config.uses_pca else "784", *map(str, config.hidden), "10"])
    guess = estimate.estimate(config, services.store().list(), inputs)
    st.markdown(f"**{config.label}** · {shape} · **{config.param_count(inputs):,} parameters** · "
                f"about **{fmt.secs(guess.total_seconds)}** ({fmt.secs(guess.seconds_per_epoch)} per epoch, "
                f"{guess.basis})")

left, middle, right = st.columns([1, 1, 2], vertical_alignment="bottom")
repeat = middle.number_input("Repeat with seeds", 1, 10, 1, key="repeat",
                             help="Train the same settings with this many seeds (seed, seed+1, ...) as one group; "
                                  "Compare can then show the group's mean and spread.")
if left.button("Train", type="primary", disabled=config is None, width="stretch"):
    jobs = queue_runs(config, int(repeat))
    following = jobs[0].run_id
    controls.sync_link(config, following)
right.caption("The link in your address bar restores these settings: copy it to share them.")
if config is not None:
    lr_finder.panel(config)

if following:
    live.show(following)
live.queue_panel()
services.preload_charts()
