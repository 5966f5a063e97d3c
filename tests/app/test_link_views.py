"""Links for a class: ?hide= and ?lock= on the Train page, ?present=1 on any page (AppTest)."""

from mnist_core.config import RunConfig
from tests.app.conftest import open_page, shown
from tests.helpers import stored_run


def test_hidden_settings_are_not_drawn_and_keep_the_links_values(queue):
    at = open_page(hide="optimizer,batch_norm", optimizer="nesterov", batch_norm="1", epochs="3")
    assert not at.exception and not at.warning
    assert "Optimizer" not in [s.label for s in at.selectbox]
    assert "Batch norm" not in [t.label for t in at.toggle]
    assert "Set by the link: batch norm on, optimizer nesterov." in [c.value for c in at.caption]
    at.button[0].click().run()  # Train
    assert queue._runner.configs[-1] == RunConfig(optimizer="nesterov", batch_norm=True, epochs=3)
    assert at.query_params["hide"] == "optimizer,batch_norm"  # the link keeps hiding them


def test_locked_settings_are_disabled_and_a_forced_value_is_ignored(queue):
    at = open_page(lock="epochs,activation", epochs="2")
    epochs = at.number_input(key="cfg_epochs")
    assert epochs.disabled and at.selectbox(key="cfg_activation").disabled
    assert not at.select_slider(key="cfg_batch_size").disabled
    at.session_state["cfg_epochs"] = 50  # what a crafted browser message could do to a disabled widget
    at.run()
    assert at.number_input(key="cfg_epochs").value == 2
    at.button[0].click().run()
    assert queue._runner.configs[-1].epochs == 2


def test_unknown_names_give_the_usual_warning(queue):
    at = open_page(hide="optimizer,colour", lock="<b>x</b>")
    warnings = [shown(w.value) for w in at.warning]
    assert len(warnings) == 2
    assert "'colour' in the link's hide: it is not a setting" in warnings[0]
    assert "'<b>x</b>' in the link's lock" in warnings[1]
    assert "Optimizer" not in [s.label for s in at.selectbox]  # the known name still applies


def test_presenter_view_has_no_editing_controls(queue):
    mine = stored_run(queue.store, RunConfig(epochs=2), [0.9, 0.95], name="mine")
    normal = open_page("compare", runs=mine.run_id)
    assert any("Rename" in e.label for e in normal.expander)
    at = open_page("compare", runs=mine.run_id, present="1")
    assert not at.exception
    assert not any("Rename" in e.label for e in at.expander) and not at.get("button")
    assert at.get("vega_lite_chart") or at.get("arrow_vega_lite_chart")  # the overlay is still shown
