"""Two browsers on a class's server: one cannot delete the other's run, by the page or by a crafted request."""

import asyncio
import concurrent.futures
import os
import re
import pytest
from playwright.sync_api import expect
from streamlit.proto.WidgetStates_pb2 import WidgetState

from bench import appserver
from bench.st_client import Session
from mnist_core import access
from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.e2e.conftest import SHOTS, wait_for_app
from tests.helpers import stored_run

PASSWORD = "e2e teacher password"


@pytest.fixture(scope="module")
def classroom(tmp_path_factory, mnist_path):
    root = tmp_path_factory.mktemp("classroom")
    env = {**os.environ, "MNIST_DATA": str(mnist_path), "MNIST_RUNS_DIR": str(root / "user"),
           "MNIST_REFERENCE_RUNS": "", access.TEACHER_ENV: PASSWORD}
    try:
        proc, url = appserver.start(env, root / "server.log")
    except appserver.ServerError as e:
        pytest.fail(str(e))
    yield {"url": url, "store": RunStore(root / "user", None)}
    appserver.stop(proc)


def _shot(pg, name):
    SHOTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(SHOTS / f"ownership-{name}.png"), full_page=True)


def _token(context) -> str:
    [cookie] = [c for c in context.cookies() if c["name"] == "mnist_owner"]
    return cookie["value"]


def _forge_delete(url: str, cookie: str, runs: str, done) -> tuple[list[str], dict]:
    """A hand-made websocket session (no browser): open Compare with ``runs`` selected, tick the
    confirmation and press Delete; returns the texts it was sent and the widget ids it learned."""
    async def go():
        async with Session(url, runs, page="compare", cookie=cookie) as session:
            await session.rerun()
            deadline = asyncio.get_running_loop().time() + 90
            while not any(k[0] == "checkbox" and k[1].startswith("Yes, delete") for k in session.ids):
                assert asyncio.get_running_loop().time() < deadline, \
                    f"the Delete controls never appeared: {session.ids} {session.texts[-5:]}"
                await asyncio.sleep(0.2)
            label = next(k[1] for k in session.ids if k[0] == "checkbox" and k[1].startswith("Yes, delete"))
            wid = session.ids[("checkbox", label)]
            session.widgets[wid] = WidgetState(id=wid, bool_value=True)
            await session.rerun_and_wait(60)  # the page has seen the tick
            ran = session.completed
            await session.click("Delete")
            deadline = asyncio.get_running_loop().time() + 30
            while not (done() and session.completed > ran) and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.2)
            return [text for _, text in session.texts], dict(session.ids)

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # Playwright's sync API owns this thread's loop
        return pool.submit(asyncio.run, go()).result()


def _forge_state(url: str, cookie: str, runs: str, states: list[WidgetState]) -> list[str]:
    """Open Compare and send ``states`` (forged session state and widget values) in every message."""
    async def go():
        async with Session(url, runs, page="compare", cookie=cookie) as session:
            session.widgets.update({w.id: w for w in states})
            await session.rerun_and_wait(60)
            await session.rerun_and_wait(60)  # a second run, in case the first only ticked the confirmation
            return [text for _, text in session.texts]

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, go()).result()


def test_a_browser_cannot_delete_another_browsers_run(chromium, classroom):
    url, store = classroom["url"], classroom["store"]
    alice_ctx = chromium.new_context(viewport={"width": 1400, "height": 1000})
    bob_ctx = chromium.new_context(viewport={"width": 1400, "height": 1000})
    teacher_ctx = chromium.new_context(viewport={"width": 1400, "height": 1000})
    try:
        # Alice trains a small run; it is hers, and only a hash of her cookie is stored.
        alice = alice_ctx.new_page()
        alice.set_default_timeout(30_000)
        alice.goto(f"{url}/?hidden=16&epochs=1&train_examples=1000")
        wait_for_app(alice)
        alice.get_by_role("button", name="Train", exact=True).click()
        alice.get_by_text("Finished 1 epoch.").wait_for(timeout=120_000)
        run_id = re.search(r"run=([0-9a-z-]+)", alice.url).group(1)
        alice_token = _token(alice_ctx)
        assert access.valid_token(alice_token)
        record = (store.get(run_id).path / "run.json").read_text()
        assert store.get(run_id).owned_by == access.owner_id(alice_token) and alice_token not in record
        alice.goto(f"{url}/compare?runs={run_id}")  # a new page load: the cookie keeps her identity
        wait_for_app(alice)
        alice.get_by_text("Rename, tag or delete (1 of your runs selected)").wait_for()

        # Bob sees and compares it, but the page offers him no way to change it, and says why.
        bob = bob_ctx.new_page()
        bob.set_default_timeout(30_000)
        bob.goto(f"{url}/compare?runs={run_id}")
        wait_for_app(bob)
        bob.get_by_text("Rename, tag or delete (0 of your runs selected)").click()
        bob.get_by_text("1 selected run belongs to another browser").wait_for()
        assert bob.get_by_role("button", name="Delete").count() == 0
        bob.locator("[data-testid='stVegaLiteChart']").first.wait_for()  # he may still compare it
        _shot(bob, "bob-compare")
        bob_token = _token(bob_ctx)
        assert bob_token != alice_token

        # Crafted requests from a hand-made websocket client with Bob's cookie, a made-up teacher proof
        # and owner/teacher parameters in the link: (1) Bob's own run selected beside Alice's, the
        # confirmation ticked, Delete pressed: his goes, hers stays.
        bobs = stored_run(store, RunConfig(epochs=1, hidden=(8,)), [0.5], name="bob's")
        store.update(bobs.run_id, owned_by=access.owner_id(bob_token))
        cookie = f"mnist_owner={bob_token}; mnist_teacher={'0' * 64}"
        forged_link = f"owner={store.get(run_id).owned_by}&teacher=1"
        texts, ids = _forge_delete(url, cookie, f"runs={run_id},{bobs.run_id}&{forged_link}",
                                   done=lambda: not bobs.path.exists())
        assert any("1 selected run belongs to another browser" in t for t in texts)
        remaining = [r.run_id for r in store.list()]
        assert bobs.run_id not in remaining, "the crafted request did not reach the page (nothing deleted)"
        assert run_id in remaining
        # (2) Alice's run alone, with forged session state claiming her identity and the teacher's proof,
        # and the confirmation and Delete sent as if they were on the page.
        forged = [WidgetState(id="_identity_token", string_value=alice_token),
                  WidgetState(id="_identity_proof", string_value=access.teacher_proof(alice_token)),
                  WidgetState(id=ids[("checkbox", "Yes, delete the 1 selected run(s) of mine")], bool_value=True),
                  WidgetState(id=ids[("button", "Delete")], trigger_value=True)]
        texts = _forge_state(url, cookie, f"runs={run_id}&{forged_link}", forged)
        assert not any("logged in as the teacher" in t for t in texts)
        assert run_id in [r.run_id for r in store.list()]

        # The teacher logs in (sidebar, "Teacher"), stays logged in after a reload, and may delete it.
        teacher = teacher_ctx.new_page()
        teacher.set_default_timeout(30_000)
        teacher.goto(f"{url}/compare?runs={run_id}")
        wait_for_app(teacher)
        teacher.get_by_text("Teacher", exact=True).click()
        teacher.get_by_label("Teacher password").fill("not it")
        teacher.get_by_role("button", name="Log in").click()
        teacher.get_by_text("That is not the teacher's password.").wait_for()
        teacher.get_by_label("Teacher password").fill(PASSWORD)
        teacher.get_by_role("button", name="Log in").click()
        teacher.get_by_text("You are logged in as the teacher").wait_for()
        teacher.reload()
        wait_for_app(teacher)
        teacher.get_by_text("Rename, tag or delete (1 selected, as the teacher)").click()
        # Tick until the page has seen the tick (a click landing during the expander's rerun is lost).
        confirm = teacher.get_by_role("checkbox", name="Yes, delete the 1 selected run(s)")
        delete = teacher.get_by_role("button", name="Delete")
        for _ in range(5):
            if not confirm.is_checked():
                teacher.get_by_text("Yes, delete the 1 selected run(s)").click()
            try:
                expect(delete).to_be_enabled(timeout=5_000)
                break
            except AssertionError:
                continue
        delete.click()
        _shot(teacher, "teacher-deleted")
        teacher.get_by_text("No runs yet").or_(teacher.get_by_text("Select runs in the table")).wait_for()
        assert run_id not in [r.run_id for r in store.list()]
    finally:
        for ctx in (alice_ctx, bob_ctx, teacher_ctx):
            ctx.close()
