"""The Study page with AppTest."""

from tests.app.conftest import open_page


def test_study_page_renders_every_finding_from_the_shipped_seed_groups(queue, monkeypatch):
    from mnist_core import study
    from mnist_core.store import DEFAULT_ROOT

    monkeypatch.setattr(queue.store, "reference_dir", DEFAULT_ROOT / "reference")
    at = open_page("study")
    assert not at.exception
    table = at.table[0].value
    assert list(table.index) == [f.title for f in study.findings(queue.store.list())]
    verdicts = set(table["Verdict"])
    assert not any(v in ("runs missing", "needs at least 2 seeds per setting") for v in verdicts), verdicts
    for ours in table["Ours: mean ± sd (seeds)"]:  # every accuracy says how many seeds stand behind it
        if ours.startswith("×"):  # batch norm's cost: time only, from the timing file
            continue
        assert any(n in ours for n in ("(5)", "(3)", "n = 5 and 5", "n = 3 and 5", "n = 5 and 3")), ours
    assert len(at.get("vega_lite_chart")) == 2  # the first finding's curves, by epoch and by time
    at.toggle(key="curves_optimizers_tuned").set_value(True).run()
    assert len(at.get("vega_lite_chart")) == 4  # and any other's on request
    published = at.dataframe[-1].value
    assert "LeCun et al. 1998" in published["Source"].iloc[0] and published["Test accuracy"].iloc[0] == "96.95%"


def test_a_finding_can_be_re_run_here_and_your_runs_then_count(queue, tmp_path):
    from tests.helpers import stored_run
    from mnist_core import study

    at = open_page("study")
    assert "Missing runs" in at.info[0].value  # an empty store: nothing to judge
    at.number_input(key="seeds_smaller_net").set_value(2)
    at.button(key="rerun_smaller_net").click().run()
    queued = queue.store.list()
    assert sorted((r.config.hidden, r.config.seed, r.config.epochs) for r in queued) == [
        ((300, 100), 42, 60), ((300, 100), 43, 60), ((500, 150), 42, 60), ((500, 150), 43, 60)]
    assert len({r.data["group"] for r in queued}) == 2 and all(r.data["tags"] == ["study"] for r in queued)
    assert "Queued 4 runs" in at.success[0].value



def test_your_own_seed_groups_are_judged_on_the_page(queue):
    from mnist_core import study
    from tests.helpers import stored_run

    for hidden, final in (((300, 100), 0.98), ((500, 150), 0.981)):
        for seed, j in ((42, -0.0005), (43, 0.0), (44, 0.0005)):
            stored_run(queue.store, study.BASE.replace(hidden=hidden, seed=seed, epochs=3),
                       [final - 0.02 + j, final - 0.01 + j, final + j],
                       seconds_per_epoch=0.6 if hidden == (300, 100) else 1.0)
    at = open_page("study")
    row = at.table[0].value.loc["300-100 is much faster than a bigger net, for little accuracy"]
    assert row["Ours: mean ± sd (seeds)"].startswith("300-100: 40% faster per epoch")
    assert row["Verdict"] == "agrees"
    assert "this server" in at.caption[0].value
