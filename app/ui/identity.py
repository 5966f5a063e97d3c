"""Who is this browser, and is it the teacher's? (The decisions themselves are in mnist_core.access.)

A browser is known by a random token in a cookie, so a refresh or a second tab is the same person.
Streamlit reads cookies (``st.context.cookies``, sent when the page connects) but cannot set one,
so a tiny script in the page writes it on a browser's first visit; until the next page load the
token lives in this session's state. Session-state keys that no widget owns cannot be set by a
client, and a cookie value is only ever hashed and matched, never believed.

The teacher logs in under "Teacher" at the bottom of the sidebar (shown only when
``MNIST_TEACHER_PASSWORD`` is set); the browser then keeps a proof bound to its own token.
"""

from __future__ import annotations

import time

import streamlit as st

from mnist_core import access
from ui import services

OWNER_COOKIE = "mnist_owner"
TEACHER_COOKIE = "mnist_teacher"
_TOKEN, _PROOF, _WRITE = "_identity_token", "_identity_proof", "_identity_cookies"
YEAR = 365 * 24 * 3600


def _session() -> tuple[str, str | None]:
    s = st.session_state
    token = s.get(_TOKEN)
    if not access.valid_token(token):
        cookies = st.context.cookies
        token = cookies.get(OWNER_COOKIE)
        if not access.valid_token(token):  # first visit, or a mangled cookie: a fresh identity
            token = access.new_token()
            s[_WRITE] = {OWNER_COOKIE: (token, YEAR)}
        s[_TOKEN], s[_PROOF] = token, cookies.get(TEACHER_COOKIE)
    return token, s.get(_PROOF)


def actor() -> access.Actor:
    """This browser as mnist_core sees it; the teacher flag is re-checked against the password each time."""
    token, proof = _session()
    return access.browser(token, proof)


def queue(configs: list, group=None, tags: list[str] | None = None, components: int | None = None) -> list:
    """Queue runs as this browser, all or none: the queue refuses the whole set (LimitError, one
    sentence) before any run is created if it would pass the server's limits. ``group`` is a group
    name, or a function giving each config's."""
    me, jobs = actor(), services.queue()
    jobs.admit(configs, by=me, pca_components=components)
    return [jobs.submit(c, group=group(c) if callable(group) else group, tags=tags, by=me,
                        pca_components=components) for c in configs]


def may_change(owned_by) -> bool:
    return access.may_change(actor(), owned_by)


def kind(run) -> str:
    """How the Compare table names a run's owner."""
    if run.reference:
        return "reference"
    if not access.class_mode() or (run.owned_by and run.owned_by == actor().owner):
        return "yours"
    return "another browser" if run.owned_by else "command line"


def _write_cookies() -> None:
    """Ask the browser to store the pending cookies (a script in the page; Streamlit has no API for it)."""
    pending = st.session_state.get(_WRITE)
    if not pending:
        return
    js = "".join(f"document.cookie = '{name}={value}; path=/; max-age={age}; samesite=strict';"
                 for name, (value, age) in pending.items())  # values are our own hex / url-safe tokens
    st.html(f"<script>{js}</script>", unsafe_allow_javascript=True)


def sidebar() -> None:
    """Every page: make sure the browser keeps its identity; the teacher's log-in when there is a teacher."""
    me = actor()
    if access.class_mode():
        with st.sidebar.expander("Teacher", icon=":material/school:", expanded=False):
            if me.teacher:
                st.caption("You are logged in as the teacher: you may rename, tag, delete and stop every run, "
                           "and the limits do not apply to your runs.")
                if st.button("Log out", key="teacher_logout"):
                    st.session_state[_PROOF] = None
                    st.session_state[_WRITE] = {**st.session_state.get(_WRITE, {}), TEACHER_COOKIE: ("", 0)}
                    st.rerun()
            else:
                st.caption("Students may change only the runs their own browser started. "
                           "The teacher logs in here to manage every run.")
                with st.form("teacher_login", clear_on_submit=True, border=False):
                    password = st.text_input("Teacher password", type="password", max_chars=200)
                    if st.form_submit_button("Log in"):
                        if access.check_password(password):
                            token, _ = _session()
                            proof = access.teacher_proof(token)
                            st.session_state[_PROOF] = proof
                            st.session_state[_WRITE] = {OWNER_COOKIE: (token, YEAR),
                                                        TEACHER_COOKIE: (proof, YEAR)}
                            st.rerun()
                        time.sleep(1.0)  # slows down guessing
                        st.error("That is not the teacher's password.")
    with st.sidebar:
        _write_cookies()
