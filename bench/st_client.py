"""A Streamlit session without a browser: the websocket protocol a browser tab speaks, and no rendering.

Twenty real Chromium tabs on the server's own two cores measure Chromium, not the server: rendering
starves the trainer and the server, and the tabs paint blank. In a classroom each browser has a
computer of its own. This client asks the server for exactly what a tab asks for (script reruns with
the query string and widget values, the fragment auto-reruns that drive live charts) and reads the
answers (elements, query-string changes), so the load on the server is a real tab's load.

Protocol, as Streamlit's frontend speaks it: BackMsg ``rerun_script`` (ClientState: query string,
page, widget states, optionally a fragment id) goes up; ForwardMsgs come down: ``new_session`` at
the start of every run (a full run, one naming no fragment, cancels the page's auto-reruns), ``delta``
for each element,
``page_info_changed`` when the script sets query parameters, ``auto_rerun`` for a fragment with
``run_every``, ``script_finished`` at the end of each run.
"""

from __future__ import annotations

import asyncio
import time

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.WidgetStates_pb2 import WidgetState


class Session:
    def __init__(self, url: str, query: str = "", page: str = "", cookie: str | None = None):
        """``page`` is a url path ("compare"; "" for the default page); ``cookie`` the Cookie header a
        browser would send (its identity, see app/ui/identity.py)."""
        self.ws_url = url.replace("http", "ws", 1) + "/_stcore/stream"
        self.query = query
        self.page = page
        self.headers = {"Cookie": cookie} if cookie else {}
        self.page_hash = ""
        self.widgets: dict[str, WidgetState] = {}  # id -> the value this "tab" holds
        self.ids: dict[tuple[str, str], str] = {}  # (kind, label) -> widget id, from the last run
        self.texts: list[tuple[float, str]] = []  # (arrival time, markdown or alert text)
        self.auto: dict[str, list[float]] = {}  # fragment id -> [interval, when next due]
        self.finished: list[float] = []  # arrival times of script_finished (full runs and fragments)
        self.completed = 0  # full runs that ran to their end (not cut short by a rerun, not fragments)
        self.ws = None

    async def __aenter__(self):
        self.ws = await websockets.connect(self.ws_url, subprotocols=["streamlit"], max_size=None,
                                           additional_headers=self.headers)
        self._reader = asyncio.create_task(self._read())
        self._ticker = asyncio.create_task(self._tick())
        return self

    async def __aexit__(self, *exc):
        self._ticker.cancel()
        self._reader.cancel()
        await self.ws.close()

    # --- what a tab sends -----------------------------------------------------------------------------
    async def rerun(self, trigger: str | None = None, fragment: str = "") -> None:
        msg = BackMsg()
        cs = msg.rerun_script
        cs.query_string = self.query
        if self.page:  # a page by its url path, as a tab opened at /compare asks for it
            cs.page_name = self.page
        else:
            cs.page_script_hash = self.page_hash
        cs.fragment_id = fragment
        cs.is_auto_rerun = bool(fragment)
        states = list(self.widgets.values())
        if trigger:
            states.append(WidgetState(id=trigger, trigger_value=True))
        cs.widget_states.widgets.extend(states)
        await self.ws.send(msg.SerializeToString())

    async def click(self, label: str) -> None:
        await self.rerun(trigger=self.ids[("button", label)])

    async def train(self) -> str:
        """Press Train once the page has drawn it; the new run's id, once the page's link names it."""
        while ("button", "Train") not in self.ids:
            await asyncio.sleep(0.05)
        await self.click("Train")
        while "run=" not in self.query:
            await asyncio.sleep(0.05)
        return self.query.split("run=")[1].split("&")[0]

    async def toggle(self, label: str, value: bool) -> None:
        wid = self.ids[("checkbox", label)]
        self.widgets[wid] = WidgetState(id=wid, bool_value=value)
        await self.rerun()

    async def wait_for_text(self, fragment: str, since: float, timeout: float) -> float:
        """Seconds from ``since`` until an element containing ``fragment`` arrived after it."""
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            for t, text in reversed(self.texts):
                if t < since:
                    break
                if fragment in text:
                    return t - since
            await asyncio.sleep(0.02)
        raise TimeoutError(f"no {fragment!r} within {timeout:.0f} s")

    async def rerun_and_wait(self, timeout: float) -> None:
        """A full script run, returning once the server says a full run ran to its end (one the page
        started itself with st.rerun() counts once it ends); TimeoutError after ``timeout``."""
        count, deadline = self.completed, time.perf_counter() + timeout
        await self.rerun()
        while self.completed == count:
            if time.perf_counter() > deadline:
                raise TimeoutError(f"the page did not finish within {timeout:.0f} s")
            await asyncio.sleep(0.02)

    # --- what a tab receives --------------------------------------------------------------------------
    async def _read(self) -> None:
        async for raw in self.ws:
            msg = ForwardMsg()
            msg.ParseFromString(raw)
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                self.page_hash = msg.new_session.page_script_hash
                if not msg.metadata.run.fragment_ids:  # a full run: the page registers its fragments anew
                    self.auto.clear()
            elif kind == "page_info_changed":
                self.query = msg.page_info_changed.query_string
            elif kind == "auto_rerun":
                every = msg.auto_rerun.interval
                self.auto[msg.auto_rerun.fragment_id] = [every, time.perf_counter() + every]
            elif kind == "script_finished":
                self.finished.append(time.perf_counter())
                if msg.script_finished == ForwardMsg.ScriptFinishedStatus.FINISHED_SUCCESSFULLY:
                    self.completed += 1
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                self._element(msg.delta.new_element)

    def _element(self, el) -> None:
        kind = el.WhichOneof("type")
        if kind in ("markdown", "alert"):
            self.texts.append((time.perf_counter(), getattr(el, kind).body))
            del self.texts[:-400]
        elif kind in ("button", "checkbox"):
            w = getattr(el, kind)
            self.ids[(kind, w.label)] = w.id

    async def _tick(self) -> None:
        """Send each registered fragment's auto-rerun when it is due, as the frontend's timers do."""
        while True:
            await asyncio.sleep(0.05)
            now = time.perf_counter()
            for fid, due in list(self.auto.items()):
                if now >= due[1]:
                    due[1] = now + due[0]
                    await self.rerun(fragment=fid)
