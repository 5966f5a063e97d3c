"""Fair use with AppTest: limits on the Train page, whose runs Compare lets you change, the teacher's log-in."""

import pytest

from mnist_core import access, jobs
from mnist_core.config import RunConfig
from mnist_core.jobs import JobQueue
from mnist_core.limits import Limits
from mnist_core.store import RunStore
from streamlit.testing.v1 import AppTest

from tests.app.conftest import APP, open_page
from tests.helpers import FakeTrainer, stored_run


@pytest.fixture
def classroom(tmp_path, mnist_path, monkeypatch):
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    monkeypatch.setenv(access.TEACHER_ENV, "teach")
    q = JobQueue(RunStore(tmp_path / "user", tmp_path / "reference"), max_concurrent=1, runner=FakeTrainer(),
                 limits=Limits(max_params=300_000, max_epochs=30, max_queued_per_user=3))
    monkeypatch.setattr(jobs, "_default", q)
    yield q
    q.close()


def _owner(at) -> str:
    return access.owner_id(at.session_state["_identity_token"])


def test_a_config_over_a_limit_cannot_be_queued_and_the_limits_are_shown(classroom):
    at = open_page(hidden="1568-500", epochs="5")
    assert not at.exception
    assert "Limits on this server: at most 300,000 parameters, 30 epochs, 3 waiting runs per browser." in \
        [c.value.split(" The teacher")[0] for c in at.caption]
    shown = f"{RunConfig(hidden=(1568, 500)).param_count():,} parameters"  # as the line above the button says
    assert any(shown in m.value for m in at.markdown)
    assert f"This network has {shown}, more than this server allows for one run (300,000)" in at.error[0].value
    train = at.button[0]
    assert train.label == "Train" and train.disabled
    train.proto.disabled = False  # a crafted request clicks it anyway: the queue refuses it
    train.click().run()
    assert classroom.store.list() == [] and not at.exception

    at = open_page(epochs="5")  # the notebook's network fits
    at.button[0].click().run()
    [run] = classroom.store.list()
    assert run.owned_by == _owner(at)


def test_compare_lets_a_browser_change_only_its_own_runs(classroom):
    other = access.browser(access.new_token())
    theirs = stored_run(classroom.store, RunConfig(epochs=2), [0.9, 0.95], name="theirs")
    classroom.store.update(theirs.run_id, owned_by=other.owner)
    token = access.new_token()  # this browser's cookie
    mine = stored_run(classroom.store, RunConfig(epochs=2, seed=1), [0.9, 0.96], name="mine")
    classroom.store.update(mine.run_id, owned_by=access.owner_id(token))
    at = AppTest.from_file(str(APP / "main.py"), default_timeout=60)
    at.session_state["_identity_token"] = token
    at.switch_page("views/compare.py")
    at.query_params["runs"] = f"{theirs.run_id},{mine.run_id}"
    at.run()
    assert not at.exception
    kinds = dict(zip(at.dataframe[0].value["label"], at.dataframe[0].value["kind"]))
    assert kinds == {"theirs": "another browser", "mine": "yours"}
    assert any("1 selected run belongs to another browser" in c.value for c in at.caption)
    assert [compare_label.split(" ")[0] for compare_label in at.selectbox(key="manage_target").options] == ["mine"]
    at.checkbox(key="confirm_delete").check().run()
    [delete] = [b for b in at.button if b.label == "Delete"]
    delete.click().run()
    assert [r.display_name for r in classroom.store.list()] == ["theirs"]


def test_the_teacher_logs_in_with_the_password_and_may_change_every_run(classroom):
    other = access.browser(access.new_token())
    theirs = stored_run(classroom.store, RunConfig(epochs=2), [0.9, 0.95], name="theirs")
    classroom.store.update(theirs.run_id, owned_by=other.owner)
    at = open_page("compare", runs=theirs.run_id)
    password = [t for t in at.text_input if t.label == "Teacher password"][0]
    password.input("wrong")
    [b for b in at.button if b.label == "Log in"][0].click().run()
    assert "That is not the teacher's password." in [e.value for e in at.error]
    assert not any(s.key == "manage_target" for s in at.selectbox)
    password = [t for t in at.text_input if t.label == "Teacher password"][0]
    password.input("teach")
    [b for b in at.button if b.label == "Log in"][0].click().run()
    assert any("logged in as the teacher" in c.value for c in at.caption)
    assert any(s.key == "manage_target" for s in at.selectbox)
