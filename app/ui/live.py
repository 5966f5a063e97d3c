"""A run as it trains: status, progress inside the epoch, the growing chart, the final numbers.

Drawn in a fragment that re-runs every half second while the run is active, so only this panel
refreshes, and any browser tab following the same run id shows the same run.
"""

from __future__ import annotations

import streamlit as st

from mnist_core import access, curves
from mnist_core.owner import owner_alive
from mnist_core.store import ACTIVE, StoreError

from . import fmt, identity, services

POLL_RUNNING = 0.5  # seconds between refreshes while training: progress must move at least this often
POLL_QUEUED = 2.0  # a place in the queue changes slowly; polling less keeps a full classroom light
POLL_QUEUE_PANEL = 3.0


def _state(run_id: str) -> str | None:
    """"queued" or "running" while the run is active, else None."""
    job = services.queue().get(run_id)
    if job is not None:
        return None if job.state == "done" else job.state
    try:  # a run trained by another process (the CLI, a previous server) is followed via its run.json
        run = services.store().get(run_id)
    except StoreError:
        return None
    return run.status if run.status in ACTIVE and owner_alive(run.data.get("owner")) else None


def show(run_id: str) -> None:
    state = _state(run_id)
    st.fragment(_panel, run_every=_pace(run_id, state))(run_id, state)


def _pace(run_id: str, state: str | None) -> float | None:
    """Seconds between refreshes: fast while training or about to start, slow while waiting behind others."""
    if state is None:
        return None
    queue = services.queue()
    starting = queue.position(run_id) in (None, 1) and queue.running_count() < queue.max_concurrent
    return POLL_RUNNING if state == "running" or starting else POLL_QUEUED


def _panel(run_id: str, was: str | None) -> None:
    queue = services.queue()
    job = queue.get(run_id)
    try:
        run = queue.store.get(run_id)
    except StoreError as e:
        st.info(fmt.say("{} It may have been deleted.", e))
        return
    config = run.config
    history = list(job.history) if job and job.state != "done" else run.history
    status = job.status if job and job.state != "done" else run.status

    st.subheader(fmt.plain(run.display_name))
    me = identity.actor()
    allowed = access.may_change(me, job.owner if job else run.owned_by)
    why = None if allowed else access.why_not()
    if why and status in ACTIVE:
        st.caption(why)
    if status == "queued":
        place = queue.position(run_id)
        st.info(f"Waiting in the queue: place {place} of {len(queue.active())}." if place else "Starting...")
        if st.button("Cancel", key=f"cancel_{run_id}", disabled=not allowed, help=why):
            _cancel(queue, run_id, me)
            st.rerun(scope="app")
    elif status == "running":
        p = job.progress if job else None
        if p:
            done = (p["epoch"] - 1 + p["step"] / p["steps"]) / p["epochs"]
            st.progress(min(done, 1.0), text=(
                f"Epoch {p['epoch']}/{p['epochs']} · step {p['step']}/{p['steps']} · "
                f"{p['examples_per_second']:,.0f} examples/s · about {fmt.secs(p['eta_seconds'])} left"))
        else:
            st.progress(0.0, text="Preparing: loading data, fitting PCA, compiling the network...")
        if st.button("Stop", key=f"stop_{run_id}", disabled=not allowed,
                     help=why or "End the run now, keeping the finished epochs."):
            _cancel(queue, run_id, me)
    else:
        _final_status(run)
        st.page_link("views/details.py", label="Open the run's details: mistakes, confusion matrix, layer health",
                     icon=":material/troubleshoot:", query_params={"run": run_id})

    from . import charts  # Altair and pandas load on first use, not with the Train page

    points = tuple((h["epoch"], h["test_accuracy"], h["train_accuracy"], h.get("val_accuracy")) for h in history)
    best = run.data.get("best_epoch")
    st.vega_lite_chart(spec=charts.live_accuracy_spec(points, config.epochs, best))
    if config.schedule != "constant" and history:
        st.altair_chart(charts.learning_rate(history, config.epochs, best))
    if history:
        ms = curves.milestones(history)
        c1, c2, c3, c4 = st.columns(4)
        c1.metric("Best test accuracy", fmt.pct(curves.best(history)),
                  help=f"Last epoch: {fmt.pct(history[-1]['test_accuracy'])}")
        c2.metric("Time per epoch", fmt.secs(curves.seconds_per_epoch(history)),
                  help="Training steps only; evaluating the 10,000 test images is not counted.")
        ended = status not in ("queued", "running")
        fmt.milestone_metric(c3, "97%", ms["97"], ended)
        fmt.milestone_metric(c4, "98%", ms["98"], ended)
    if was and _state(run_id) != was:
        st.rerun(scope="app")  # it started or ended: redraw the page once, polling at the new pace


def _cancel(queue, run_id: str, me: access.Actor) -> None:
    try:
        queue.cancel(run_id, by=me)  # the queue checks the owner again: a disabled button is only a hint
    except access.NotAllowed as e:
        st.error(str(e))


def _final_status(run) -> None:
    reason = run.data.get("reason")
    n = len(run.history)
    text = {"finished": fmt.say(f"Finished {n} epoch{'s' * (n != 1)}: {{}}.", reason) if reason
                        else f"Finished {n} epoch{'s' * (n != 1)}.",
            # A stop the student did not ask for (the server's time limit) says why.
            "stopped": fmt.say(f"Stopped after {n} finished epoch{'s' * (n != 1)}: {{}}.", reason)
                       if reason and "time limit" in str(reason) else f"Stopped after {n} finished epoch{'s' * (n != 1)}.",
            "diverged": fmt.say("Diverged: {}.", reason),
            "interrupted": fmt.say("Interrupted: {}.", reason),
            "failed": fmt.say("Failed: {}", reason)}.get(run.status, fmt.plain(run.status))
    (st.success if run.status == "finished" else st.warning if run.status != "failed" else st.error)(text)


def queue_panel() -> None:
    """Every job of this server (all browsers), so a class sees what is training and what waits."""
    queue = services.queue()
    active = queue.active()
    st.fragment(_queue, run_every=POLL_QUEUE_PANEL if active else None)()


def _queue() -> None:
    queue = services.queue()
    active = queue.active()
    on_ray = " on the Ray cluster" if getattr(queue, "backend", None) == "ray" else ""
    if not active:
        st.caption(f"No training running. Up to {queue.max_concurrent} run at a time{on_ray}; more wait in a queue.")
        return
    lines = []
    me = identity.actor().owner
    place = 0  # the order of queue.active() is the order the waiting jobs will start in
    for job in active:
        yours = " · **yours**" if job.owner and job.owner == me else ""
        if job.state == "running":
            p = job.progress
            where = f"epoch {p['epoch']}/{p['epochs']}" if p else "preparing"
            lines.append(f"- **training** · {job.config.label} · {where}{yours}")
        else:
            place += 1
            lines.append(f"- waiting #{place} · {job.config.label}{yours}")
    st.markdown(f"**Queue on this server** ({queue.max_concurrent} at a time{on_ray})\n" + "\n".join(lines))
