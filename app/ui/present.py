"""Presenter view (``?present=1`` on any page): large type, wide charts, the sidebar collapsed and no
editing controls (rename, delete), for a projector. It stays on for the browser session while the
teacher moves between pages; ``?present=0`` turns it off."""

from __future__ import annotations

import streamlit as st

PARAM = "present"
_KEY = "_presenting"

# Streamlit sizes its text in rem, so raising the root font size enlarges everything together;
# the main column is let out to the whole width of the projector.
STYLE = """
<style>
html { font-size: 22px; }
[data-testid="stMainBlockContainer"], .block-container { max-width: 100%; padding-left: 2rem; padding-right: 2rem; }
[data-testid="stMarkdownContainer"] p, [data-testid="stMarkdownContainer"] li { font-size: 1.1rem; }
[data-testid="stMetricValue"], [data-testid="stMetricValue"] [data-testid="stMarkdownContainer"] p { font-size: 2.4rem; }
</style>
"""


def presenting() -> bool:
    """True in presenter view. Read from the link once, then remembered for the browser session."""
    raw = st.query_params.get(PARAM)
    if raw is not None:
        st.session_state[_KEY] = str(raw).strip().lower() in ("1", "true", "yes", "on")
    return bool(st.session_state.get(_KEY, False))


def apply() -> None:
    """Style the page for a projector and keep ``present=1`` in the link, so a refresh stays presenting."""
    st.html(STYLE)
    if st.query_params.get(PARAM) != "1":
        st.query_params[PARAM] = "1"
