"""Run details, inside the network: one epoch slider over a real run's snapshots; runs without them say why."""

import shutil

import pytest

from mnist_core import snapshots
from mnist_core.config import RunConfig
from mnist_core.store import RunStore
from tests.app.conftest import open_page, shown
from tests.helpers import stored_run


@pytest.fixture(scope="module")
def trained(small_mnist, tmp_path_factory):
    """A real 3-epoch run on 2,100 MNIST images (snapshots at 1, 2, 3), copied into each test's store."""
    from mnist_core.runner import execute

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("mnist_core.data.load", lambda *a, **k: small_mnist)
        store = RunStore(tmp_path_factory.mktemp("trained"), reference_dir=False)
        return execute(RunConfig(train_examples=2100, epochs=3, learning_rate=0.1), store, save_model=False)


def _copy(trained, store) -> str:
    shutil.copytree(trained.path, store.user_dir / trained.run_id)
    return trained.run_id


def test_the_epoch_slider_redraws_everything_at_that_epoch(queue, trained, mnist):
    run_id = _copy(trained, queue.store)
    at = open_page("details", run=run_id)
    assert not at.exception
    slider = at.select_slider(key="inside_epoch")
    assert slider.options == ["1", "2", "3"] and slider.value == 3
    headers = [h.value for h in at.subheader]
    assert "Where it goes wrong at epoch 3" in headers and "The hidden space at epoch 3" in headers
    wrong = {e: len(snapshots.load(trained.path, e)["wrong_ids"]) for e in (1, 3)}
    assert any(f"{wrong[3]:,} of 2,000" in m.value for m in at.markdown)

    at.select_slider(key="inside_epoch").set_value(1).run()
    assert not at.exception
    assert "Where it goes wrong at epoch 1" in [h.value for h in at.subheader]
    assert any(f"{wrong[1]:,} of 2,000" in m.value for m in at.markdown)
    # The gallery shows the epoch's own mistakes, most confident first.
    first = snapshots.load(trained.path, 1)
    i, proba = int(first["wrong_ids"][0]), first["wrong_proba"][0].astype(float)
    true, said = int(mnist.y_test[i]), int(proba.argmax())
    assert at.image[0].captions[0] == f"{true} → {said} ({proba[said]:.1%}); {true}: {proba[true]:.1%}"

    at.segmented_control(key="inside_kind").set_value("gradients").run()
    assert not at.exception


def test_play_steps_through_the_stored_epochs(queue, trained, monkeypatch):
    monkeypatch.setattr("ui.inside.PLAY_SECONDS", 0.0)
    run_id = _copy(trained, queue.store)
    at = open_page("details", run=run_id)
    at.button(key="inside_play").click().run()  # at the last epoch, Play starts from the first
    assert not at.exception
    assert at.select_slider(key="inside_epoch").value == 3  # played 1, 2, 3 and stopped there
    assert at.session_state["inside_playing"] is False


def test_runs_without_snapshots_say_why(queue, trained):
    old = stored_run(queue.store, RunConfig(epochs=2), [0.9, 0.92])
    at = open_page("details", run=old.run_id)
    assert not at.exception
    assert any("no snapshots of its insides" in shown(i.value) for i in at.info), [i.value for i in at.info]
    assert "Where it goes wrong" in [h.value for h in at.header]  # the final analysis view instead

    run_id = _copy(trained, queue.store)
    for epoch in (1, 2, 3):
        snapshots.path_for(queue.store.user_dir / run_id, epoch).write_bytes(b"not a snapshot")
    at = open_page("details", run=run_id)
    assert not at.exception
    assert any("could not be read" in shown(i.value) and "epoch-0001.npz" in shown(i.value) for i in at.info)
