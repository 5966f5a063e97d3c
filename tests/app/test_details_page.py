"""Run details, Try a model and PCA explorer pages with AppTest."""

from mnist_core.config import RunConfig
from tests.app.conftest import open_page
from tests.helpers import stored_run


def _analysed_run(store):
    run = stored_run(store, RunConfig(hidden=(300, 100, 50), epochs=3), [0.95, 0.97, 0.981])

    def add(d):
        for i, h in enumerate(d["history"]):
            h["dead_units"] = [0.01 * i, 0.02, 0.0]
            h["grad_norm"] = [0.5, 0.4, 0.3, 0.2]
        d["analysis"] = {"accuracy": 0.981, "confusion": [[98 if i == j else (2 if j == (i + 1) % 10 else 0)
                                                          for j in range(10)] for i in range(10)],
                         "per_class_accuracy": [0.98] * 10, "misclassified_total": 3,
                         "misclassified": [{"index": 8, "true": 5, "pred": 6, "confidence": 0.9, "top3": [6, 5, 0]},
                                           {"index": 33, "true": 4, "pred": 9, "confidence": 0.8, "top3": [9, 4, 1]},
                                           {"index": 62, "true": 9, "pred": 4, "confidence": 0.7, "top3": [4, 9, 7]}]}
    store.update(run.run_id, add)
    return run


def test_details_show_curves_mistakes_and_layer_health(queue):
    run = _analysed_run(queue.store)
    at = open_page("details", run=run.run_id)
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    deltas = {m.label: m.delta for m in at.metric}
    assert metrics["Best test accuracy"] == "98.10%" and metrics["Reached 98%"] == "epoch 3"
    assert deltas["Reached 98%"] == "after 1.50 s of training"
    assert len(at.get("vega_lite_chart")) == 6  # accuracy, loss, confusion, per digit, 2 health
    images = at.image
    assert len(images) == 1 and len(images[0].value) == 3
    assert images[0].captions == ["5 → 6 (90%)", "4 → 9 (80%)", "9 → 4 (70%)"]
    assert any("tensorboard --logdir" in c.value and run.run_id in c.value for c in at.code)
    at.segmented_control(key="gallery_digit").set_value(4).run()
    assert at.image[0].captions == ["4 → 9 (80%)"]


def test_details_of_an_unknown_run_fall_back_to_the_newest(queue):
    run = _analysed_run(queue.store)
    at = open_page("details", run="20990101-000000-gone-abcdef")
    assert not at.exception
    assert "There is no run" in at.warning[0].value and at.selectbox(key="details_run").value == run.run_id


def test_try_page_without_models_says_how_to_get_one(queue):
    stored_run(queue.store, RunConfig(epochs=1), [0.9])  # no model.keras
    at = open_page("try")
    assert not at.exception and "No stored run has a saved model" in at.info[0].value


def test_pca_explorer_shows_variance_fit_time_and_reconstructions(queue):
    at = open_page("pca")
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert "154 components keep 95.0% of the pixel variance" in text and "took" in text
    images = at.image
    assert len(images) == 2 and all(len(i.value) == 8 for i in images)
    at.slider(key="pca_k").set_value(20).run()
    assert "20 components keep" in "\n".join(m.value for m in at.markdown)


def test_repeat_with_seeds_trains_a_group(queue):
    at = open_page(epochs="2")
    at.number_input(key="repeat").set_value(3).run()
    at.button[0].click().run()
    assert not at.exception
    runs = [queue.wait(j.run_id, timeout=30) for j in list(queue._jobs.values())]
    assert sorted(j.config.seed for j in runs) == [42, 43, 44]
    groups = {queue.store.get(j.run_id).data["group"] for j in runs}
    assert len(groups) == 1 and None not in groups

    first = runs[0].run_id
    at = open_page("compare", runs=first)
    at.toggle(key="groups").set_value(True).run()
    assert not at.exception
    spec = at.get("vega_lite_chart")[0].proto.spec
    assert '"y2": {"field": "hi"' in spec and '"field": "lo"' in spec  # the min-max band


def _fake_model(path, last_layer: str) -> None:
    """A .keras archive with only the config the page reads (the page never loads TensorFlow)."""
    import json
    import zipfile

    config = {"class_name": "Functional", "config": {"layers": [{"class_name": "InputLayer"},
                                                                {"class_name": last_layer}]}}
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("config.json", json.dumps(config))


def test_details_offer_the_model_run_json_and_a_snippet_that_names_the_download(queue):
    run = _analysed_run(queue.store)
    _fake_model(run.path / "model.keras", "Softmax")
    at = open_page("details", run=run.run_id)
    assert not at.exception
    buttons = at.get("download_button")
    labels = [b.proto.label for b in buttons]
    assert labels == ["run.json: settings, history, analysis", "Model (.keras)"]
    snippet = next(c.value for c in at.code if "load_model" in c.value)
    assert f'"{run.run_id}.keras"' in snippet and len(snippet.strip().splitlines()) == 5
    assert any("uint8 0-255 or float 0-1" in c.value for c in at.caption)


def test_details_of_a_model_saved_before_the_portable_format_say_so_instead_of_a_snippet(queue):
    run = _analysed_run(queue.store)
    _fake_model(run.path / "model.keras", "Dense")
    at = open_page("details", run=run.run_id)
    assert not at.exception
    assert len(at.get("download_button")) == 2
    assert not any("load_model" in c.value for c in at.code)
    assert any("saved by an earlier version" in c.value for c in at.caption)


def test_details_of_a_run_without_a_model_offer_only_its_record(queue):
    run = _analysed_run(queue.store)
    at = open_page("details", run=run.run_id)
    assert [b.proto.label for b in at.get("download_button")] == ["run.json: settings, history, analysis"]
    assert any("No saved model" in c.value for c in at.caption)
