"""Whose run is it: only its browser or the teacher may change it, enforced by the store itself."""

import json

import pytest

from mnist_core import access
from mnist_core.access import NotAllowed
from mnist_core.config import RunConfig
from mnist_core.store import RunStore, StoreError


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "user", reference_dir=None)


@pytest.fixture
def classroom(monkeypatch):
    monkeypatch.setenv(access.TEACHER_ENV, "correct horse")


def _browser():
    return access.browser(access.new_token())


def test_tokens_are_unguessable_and_only_their_hash_is_stored(store, classroom):
    tokens = {access.new_token() for _ in range(200)}
    assert len(tokens) == 200 and all(access.valid_token(t) for t in tokens)
    token = access.new_token()
    run_id = store.create(RunConfig(epochs=1), owned_by=access.owner_id(token))
    text = (store.get(run_id).path / "run.json").read_text()
    assert token not in text and access.owner_id(token) in text
    with pytest.raises(StoreError):  # a token (or a name) is never stored as an owner
        store.create(RunConfig(epochs=1), owned_by=token)


def test_only_the_owner_or_the_teacher_may_rename_tag_or_delete(store, classroom):
    alice, bob = _browser(), _browser()
    run_id = store.create(RunConfig(epochs=1), name="alice's", owned_by=alice.owner)
    store.update(run_id, status="finished")
    for attempt in (lambda: store.rename(run_id, "mine now", by=bob),
                    lambda: store.set_tags(run_id, "pwned", by=bob),
                    lambda: store.delete(run_id, by=bob)):
        with pytest.raises(NotAllowed, match="belongs to another browser"):
            attempt()
    run = store.get(run_id)
    assert run.display_name == "alice's" and run.data["tags"] == []

    store.rename(run_id, "still alice's", by=alice)
    teacher = access.browser(access.new_token(), proof=None)
    assert not teacher.teacher
    token = access.new_token()
    teacher = access.browser(token, proof=access.teacher_proof(token))
    assert teacher.teacher
    store.set_tags(run_id, "checked", by=teacher)
    assert store.get(run_id).data["tags"] == ["checked"]
    store.delete(run_id, by=alice)
    assert store.list() == []


def test_a_forged_owner_or_proof_proves_nothing(store, classroom):
    alice, token = _browser(), access.new_token()
    run_id = store.create(RunConfig(epochs=1), owned_by=alice.owner)
    store.update(run_id, status="finished")
    forged = [
        access.browser(alice.owner[:43]),  # a token made of the stored hash
        access.browser(token, proof=access.teacher_proof(access.new_token())),  # another browser's proof
        access.browser(token, proof="0" * 64),
        access.Actor(owner=None), access.Actor(owner="alice"),
    ]
    for actor in forged:
        assert not access.may_change(actor, alice.owner)
        with pytest.raises(NotAllowed):
            store.delete(run_id, by=actor)
    assert [r.run_id for r in store.list()] == [run_id]


def test_a_changed_password_invalidates_old_teacher_proofs(monkeypatch):
    monkeypatch.setenv(access.TEACHER_ENV, "first")
    token = access.new_token()
    proof = access.teacher_proof(token)
    assert access.browser(token, proof).teacher
    monkeypatch.setenv(access.TEACHER_ENV, "second")
    assert not access.browser(token, proof).teacher


def test_passwords(monkeypatch):
    monkeypatch.delenv(access.TEACHER_ENV, raising=False)
    assert not access.check_password("") and not access.check_password("anything")
    monkeypatch.setenv(access.TEACHER_ENV, "s3cret")
    assert access.check_password("s3cret")
    for wrong in ("s3cre", "s3cret ", "S3CRET", "", None, 42):
        assert not access.check_password(wrong)


def test_runs_without_an_owner_are_the_teachers_to_change(store, classroom):
    run_id = store.create(RunConfig(epochs=1))  # e.g. trained with the CLI
    store.update(run_id, status="finished")
    with pytest.raises(NotAllowed):
        store.rename(run_id, "x", by=_browser())
    store.rename(run_id, "x")  # the operator (CLI) may


def test_one_person_mode_lets_everyone_do_everything(store, monkeypatch):
    monkeypatch.delenv(access.TEACHER_ENV, raising=False)
    alice, bob = _browser(), _browser()
    run_id = store.create(RunConfig(epochs=1), owned_by=alice.owner)
    store.update(run_id, status="finished")
    store.rename(run_id, "bob was here", by=bob)
    store.delete(run_id, by=bob)
    assert store.list() == []


def test_a_bad_owner_field_in_run_json_skips_the_run(store):
    run_id = store.create(RunConfig(epochs=1))
    with pytest.raises(StoreError, match="owned_by"):  # the store never writes it...
        store.update(run_id, owned_by={"admin": True})
    path = store.user_dir / run_id / "run.json"  # ...but a file edited by hand is read too
    path.write_text(json.dumps({**json.loads(path.read_text()), "owned_by": {"admin": True}}))
    warnings = []
    assert store.list(warnings) == [] and "owned_by" in warnings[0]


def test_the_refusals_name_the_run_and_a_shipped_run_says_it_is_shipped(tmp_path, classroom):
    """A student is told which run is not theirs; for a shipped run, that it ships with the project
    (whoever asks), before any question of whose it is."""
    shipped = RunStore(tmp_path / "reference", reference_dir=None)
    ref_id = shipped.create(RunConfig(epochs=1), status="finished")
    store = RunStore(tmp_path / "user", tmp_path / "reference")
    alice, bob = _browser(), _browser()
    run_id = store.create(RunConfig(epochs=1), owned_by=alice.owner, status="finished")
    not_yours = (f"Run {run_id} belongs to another browser: only the browser that started it, or the teacher, "
                 f"may change it.")
    for action in (lambda: store.rename(run_id, "x", by=bob), lambda: store.set_tags(run_id, "x", by=bob),
                   lambda: store.delete(run_id, by=bob)):
        with pytest.raises(NotAllowed) as e:
            action()
        assert str(e.value) == not_yours
    for action in (lambda: store.rename(ref_id, "x", by=bob), lambda: store.set_tags(ref_id, "x", by=bob)):
        with pytest.raises(StoreError) as e:
            action()
        assert str(e.value) == (f"Run {ref_id} ships with the project and is read-only; train your own run "
                                f"to change it.")
