"""The Study page with AppTest."""

from tests.app.conftest import open_page


def test_study_page_renders_from_the_shipped_reference_runs(queue, monkeypatch):
    from mnist_core.store import DEFAULT_ROOT

    monkeypatch.setattr(queue.store, "reference_dir", DEFAULT_ROOT / "reference")
    at = open_page("study")
    assert not at.exception
    table = at.table[0].value
    assert len(table) == 8
    assert "runs missing" not in set(table[""])
    assert len(at.get("vega_lite_chart")) == 16  # two overlays per finding
