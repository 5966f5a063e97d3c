"""The Lessons page with AppTest: the list, a broken file, predict-before-reveal, a training step whose
fixed settings cannot be changed, hostile links."""

import shutil

import pytest

from mnist_core import jobs
from mnist_core.jobs import JobQueue
from mnist_core.store import PROJECT_DIR, RunStore
from tests.app.conftest import open_page, shown
from tests.helpers import FakeTrainer

LESSONS = PROJECT_DIR / "lessons"


@pytest.fixture
def shipped(tmp_path, mnist_path, monkeypatch):
    """A queue whose store has the shipped reference runs, and a fake trainer for the student's runs."""
    monkeypatch.setenv("MNIST_DATA", str(mnist_path))
    trainer = FakeTrainer()
    q = JobQueue(RunStore(tmp_path / "user", PROJECT_DIR / "cached_runs" / "reference"), max_concurrent=1,
                 runner=trainer)
    monkeypatch.setattr(jobs, "_default", q)
    yield q, trainer
    q.close()


def _text(at) -> str:
    return "\n".join(str(m.value) for m in [*at.markdown, *at.caption, *at.info, *at.warning, *at.metric])


def test_the_list_shows_every_lesson_and_a_broken_file_in_one_sentence(shipped, tmp_path, monkeypatch):
    folder = tmp_path / "lessons"
    shutil.copytree(LESSONS, folder)
    (folder / "broken.toml").write_text('title = "Half a lesson"\n[[steps]]\ntitle = 3\n')
    monkeypatch.setenv("MNIST_LESSONS", str(folder))
    at = open_page("lessons")
    assert not at.exception
    assert [shown(w.value) for w in at.warning] == ["Lesson file broken.toml: the file needs 'goal'."]
    links = [p.label for p in at.get("page_link")]
    assert "How big must the network be?" in links and "Overfitting with a small training set" in links
    assert len(links) == len(list(LESSONS.glob("*.toml")))
    (folder / "broken.toml").write_text((LESSONS / "pca.toml").read_text().replace("order = 2", "order = 0")
                                        .replace("Compressing the input with PCA", "Tomorrow's lesson"))
    at.run()  # the teacher fixed the file and reloaded: it appears, first in the list
    assert not at.warning and at.get("page_link")[0].label == "Tomorrow's lesson"


def test_the_reveal_waits_for_a_prediction_then_shows_it_beside_the_measured_answer(shipped):
    at = open_page("lessons", lesson="network-size", step="2")
    assert not at.exception
    assert not at.metric and not at.get("arrow_vega_lite_chart") and not at.get("vega_lite_chart")
    at.radio[0].set_value("300-100")
    at.button[0].click().run()  # Lock in my prediction
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Your prediction"] == "300-100"
    assert metrics["Measured: training seconds to reach 97%"].startswith("100-30 (")  # from the reference runs
    assert [m.delta for m in at.metric if m.label == "Your prediction"] == ["not this time"]
    assert at.get("arrow_vega_lite_chart") or at.get("vega_lite_chart")


def test_a_training_step_keeps_the_lesson_settings_and_reveals_on_the_students_run(shipped):
    queue, trainer = shipped
    at = open_page("lessons", lesson="overfitting", step="2")
    at.number_input[0].set_value(96.0)
    at.button[0].click().run()
    # Only the setting the lesson frees is drawn; the rest are fixed at the file's values.
    assert [s.label for s in at.select_slider] == ["Training examples"]
    assert not at.selectbox and not at.toggle
    at.select_slider(key="cfg_train_examples").set_value(5000).run()
    at.session_state["cfg_optimizer"] = "adam"  # a crafted change to a hidden setting is ignored
    at.text_input(key="lesson_name_overfitting_2").set_value("Ada *L.*")
    at.button(key="lesson_run_overfitting_2_train").click().run()
    queue.wait(at.session_state["lesson_run_overfitting_2"], timeout=10)
    config = trainer.configs[-1]
    assert config.train_examples == 5000 and config.optimizer == "nesterov" and config.epochs == 10
    assert queue.store.get(at.session_state["lesson_run_overfitting_2"]).display_name == "Ada *L.*"
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Your prediction"] == "96.00%"
    assert metrics["Measured: best test accuracy of You"].endswith("%")
    assert "all 60,000: shipped reference run" in shown(_text(at))


@pytest.mark.parametrize("query, warning", [
    ({"lesson": "<script>alert(1)</script>"}, "There is no lesson"),
    ({"lesson": "network-size", "step": "99"}, "is not a step of this lesson"),
    ({"lesson": "network-size", "step": "[x](http://evil)"}, "is not a step of this lesson"),
])
def test_hostile_links_get_one_literal_warning(shipped, query, warning):
    at = open_page("lessons", **query)
    assert not at.exception
    assert len(at.warning) == 1 and warning in shown(at.warning[0].value)
    assert "](" not in at.warning[0].value  # markdown is escaped: shown as typed


def test_a_regularisation_step_frees_only_dropout_and_l2(shipped):
    queue, trainer = shipped
    at = open_page("lessons", lesson="overfitting", step="3")
    at.number_input[0].set_value(3.0)
    at.button[0].click().run()
    assert not at.exception
    assert sorted(s.label for s in at.select_slider) == ["Dropout", "L2 penalty"]
    at.select_slider(key="cfg_dropout").set_value(0.3).run()
    at.button(key="lesson_run_overfitting_3_train").click().run()
    queue.wait(at.session_state["lesson_run_overfitting_3"], timeout=10)
    config = trainer.configs[-1]
    assert config.dropout == 0.3 and config.train_examples == 1000 and config.epochs == 30
