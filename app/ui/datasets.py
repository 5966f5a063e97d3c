"""A dataset as the pages use it. When its files are missing or cannot be used (wrong dtype, truncated,
pickled...), every page says the same thing: what is wrong, in one sentence, and how to provide it."""

from __future__ import annotations

import streamlit as st

from mnist_core import data
from mnist_core.data import DISPLAY_NAMES

from . import fmt, notes, services


def explain(name: str, problem: str | None) -> None:
    problem = problem or "it is not on this machine yet (Keras can download it from the Train page)"
    st.error(fmt.say("{} is not available: {}", DISPLAY_NAMES[name], problem))
    st.markdown(notes.MISSING_DATA.format(env=data.ENV_VARS[name]))


def load(name: str) -> data.Dataset | None:
    """The dataset, or None after the page has said why it cannot be used."""
    state, found = services.dataset_state(name)
    if state != "ready":
        explain(name, found)
        return None
    try:
        return services.dataset(name)
    except data.DataError as e:
        explain(name, str(e))
        return None
