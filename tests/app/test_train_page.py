"""The Train page with Streamlit's AppTest: controls, the shareable link, Train, errors."""


from mnist_core.config import RunConfig
from tests.app.conftest import open_page, shown


def _text(at) -> str:
    return "\n".join(shown(m.value) for m in [*at.markdown, *at.caption, *at.info, *at.warning, *at.error,
                                       *at.success])


def test_controls_show_the_notebook_defaults(queue):
    at = open_page()
    assert not at.exception
    assert at.slider(key="cfg_layers").value == 2
    assert [at.select_slider(key=f"cfg_units_{i}").value for i in (1, 2)] == [300, 100]
    assert at.selectbox(key="cfg_activation").value == "relu"
    assert at.toggle(key="cfg_batch_norm").value is False and at.toggle(key="cfg_pca_on").value is False
    assert at.selectbox(key="cfg_optimizer").value == "sgd"
    assert at.select_slider(key="cfg_learning_rate").value == 0.01
    assert at.select_slider(key="cfg_batch_size").value == 70
    assert "266,610 parameters" in _text(at) and "784 → 300 → 100 → 10" in _text(at)
    assert not at.warning


def test_a_link_restores_its_settings(queue):
    at = open_page(hidden="500-150-50", activation="elu", batch_norm="1", learning_rate="0.05",
                   optimizer="nesterov", epochs="7")
    assert not at.exception and not at.warning
    assert at.slider(key="cfg_layers").value == 3
    assert [at.select_slider(key=f"cfg_units_{i}").value for i in (1, 2, 3)] == [500, 150, 50]
    assert at.selectbox(key="cfg_activation").value == "elu" and at.toggle(key="cfg_batch_norm").value
    assert at.select_slider(key="cfg_learning_rate").value == 0.05 and at.number_input(key="cfg_epochs").value == 7
    assert "500-150-50 elu BN nesterov lr0.05" in _text(at)
    assert "Nesterov momentum looks one step ahead" in _text(at)  # the note follows the choice


def test_bad_link_values_fall_back_with_visible_warnings(queue):
    at = open_page(hidden="99999", epochs="abc", learning_rate="1e9", activation="<script>alert(1)</script>",
                   batch_norm="1")
    assert not at.exception
    warnings = [shown(w.value) for w in at.warning]
    assert len(warnings) == 4
    for name in ("hidden", "epochs", "learning_rate", "activation"):
        assert any(name in w for w in warnings)
    assert at.slider(key="cfg_layers").value == 2 and at.select_slider(key="cfg_units_1").value == 300
    assert at.select_slider(key="cfg_learning_rate").value == 0.01
    assert at.toggle(key="cfg_batch_norm").value is True  # the valid part of the link still applies


def test_unknown_link_parameters_are_named_in_one_warning(queue):
    at = open_page(epoch="5", colour="[red](https://evil.example)", hidden="500-150", present="1", hide="seed")
    assert not at.exception
    warnings = [shown(w.value) for w in at.warning]
    assert len(warnings) == 1, warnings  # present= and hide= are known: no warning for them
    assert "unknown parameters 'epoch', 'colour'" in warnings[0] and "the settings are dataset, hidden" in warnings[0]
    assert at.select_slider(key="cfg_units_1").value == 500  # the known settings still apply


def test_changing_a_control_updates_the_link(queue):
    at = open_page()
    at.select_slider(key="cfg_units_1").set_value(1568).run()
    at.selectbox(key="cfg_activation").set_value("elu").run()
    params = {k: at.query_params[k] for k in at.query_params}
    assert RunConfig.from_query({k: v[-1] if isinstance(v, list) else v for k, v in params.items()})[0] == \
        RunConfig(hidden=(1568, 100), activation="elu")


def test_fewer_layers_then_more_keeps_working(queue):
    # Streamlit forgets the value of a widget a run did not draw: the second layer's units after the
    # count went down to one. Going back up must show a layer again, not an error.
    at = open_page()
    at.select_slider(key="cfg_units_2").set_value(50).run()
    at.slider(key="cfg_layers").set_value(1).run()
    assert not at.exception and "784 → 300 → 10" in _text(at)
    at.slider(key="cfg_layers").set_value(2).run()
    assert not at.exception
    assert [at.select_slider(key=f"cfg_units_{i}").value for i in (1, 2)] == [300, 100]
    at.slider(key="cfg_layers").set_value(3).run()
    assert not at.exception and "784 → 300 → 100 → 100 → 10" in _text(at)


def test_train_submits_the_config_and_shows_the_finished_run(queue):
    at = open_page(epochs="5", batch_norm="1")
    at.button[0].click().run()
    assert not at.exception
    run_id = at.query_params["run"]
    run_id = run_id[-1] if isinstance(run_id, list) else run_id
    job = queue.wait(run_id, timeout=30)
    assert job.status == "finished" and job.config == RunConfig(epochs=5, batch_norm=True)
    at.run()  # what a refresh, or the live panel's next tick, shows
    text = _text(at)
    assert "Finished 5 epochs." in text
    metrics = {m.label: m.value for m in at.metric}
    deltas = {m.label: m.delta for m in at.metric}
    assert metrics["Best test accuracy"] == "99.90%"  # the fake trainer's last epoch
    assert metrics["Reached 97%"] == "epoch 4"  # 0.96 at epoch 3, 0.98 at epoch 4
    assert deltas["Reached 97%"] == "after 2.00 s of training"


def test_a_finished_run_that_missed_a_bar_says_not_reached(queue):
    at = open_page(epochs="2")
    at.button[0].click().run()
    run_id = at.query_params["run"]
    queue.wait(run_id[-1] if isinstance(run_id, list) else run_id, timeout=30)
    at.run()
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Reached 97%"] == metrics["Reached 98%"] == "not reached"  # not "not yet": it ended


def test_a_link_to_a_run_shows_it_after_a_refresh(queue):
    from tests.helpers import stored_run

    run = stored_run(queue.store, RunConfig(epochs=3), [0.95, 0.97, 0.981])
    at = open_page(run=run.run_id)
    assert not at.exception
    assert "Finished 3 epochs." in _text(at)
    metrics = {m.label: m.value for m in at.metric}
    deltas = {m.label: m.delta for m in at.metric}
    assert metrics["Best test accuracy"] == "98.10%" and metrics["Reached 98%"] == "epoch 3"
    assert deltas["Reached 98%"] == "after 1.50 s of training"


def test_a_link_to_a_bad_run_id_says_so(queue):
    at = open_page(run="../../etc/passwd")
    assert not at.exception
    assert "is not a run id" in _text(at)


def test_settings_that_cannot_go_together_disable_train(queue):
    at = open_page()
    at.select_slider(key="cfg_train_examples").set_value(1000).run()
    at.select_slider(key="cfg_batch_size").set_value(4096).run()
    assert not at.exception
    assert any("batch_size (4096) is larger than train_examples (1000)" in shown(e.value) for e in at.error)
    assert at.button[0].disabled


def test_pca_shows_the_variance_its_components_keep(queue):
    at = open_page(pca="154")
    assert not at.exception
    assert at.toggle(key="cfg_pca_on").value and at.slider(key="cfg_pca").value == 154
    assert "154 components keep **95.0%**" in _text(at)
    assert "PCA 154 → 300 → 100 → 10" in _text(at) and "77,610 parameters" in _text(at)
    at.segmented_control(key="cfg_pca_mode").set_value("variance").run()
    at.select_slider(key="cfg_pca_variance").set_value(0.9).run()
    assert "Keeping 90.0% needs **87** components" in _text(at)


def test_no_mnist_gives_a_page_saying_how_to_provide_it(queue, monkeypatch, tmp_path):
    monkeypatch.setenv("MNIST_DATA", str(tmp_path / "nowhere"))
    at = open_page()
    assert not at.exception
    text = _text(at)
    assert "does not exist" in text and "How to provide it" in text and "MNIST_DATA" in text
    assert not [b for b in at.button if b.label == "Train"]


def test_toolkit_settings_come_from_the_link_and_the_schedule_is_drawn_before_training(queue):
    at = open_page(dropout="0.2", l2="0.0001", schedule="cosine", validation="5000", patience="3")
    assert not at.exception and not at.warning
    assert at.select_slider(key="cfg_dropout").value == 0.2 and at.select_slider(key="cfg_l2").value == 1e-4
    assert at.selectbox(key="cfg_schedule").value == "cosine" and at.number_input(key="cfg_patience").value == 3
    text = _text(at)
    assert "drop0.2" in text and "cosine" in text and "patience3" in text
    assert "Learning rate over the run" in text and "785 steps an epoch" in text  # (60,000 - 5,000) // 70
    assert "half a cosine wave" in text  # the note follows the choice


def test_early_stopping_without_validation_says_how_to_fix_it(queue):
    at = open_page()
    at.number_input(key="cfg_patience").set_value(3).run()
    assert not at.exception
    assert any("patience" in shown(e.value) and "set validation to" in shown(e.value) for e in at.error)
    assert at.button[0].disabled
    linked = open_page(patience="3")  # a link asking for it alone falls back, saying why
    assert any("set validation to" in shown(w.value) for w in linked.warning)
