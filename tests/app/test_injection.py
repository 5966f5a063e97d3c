"""Text from links, users and files is shown literally on every page: never a link, an image, emphasis
or HTML. Each page is opened with hostile values in every place it shows such text, and whatever
Streamlit would render as Markdown is rendered here (markdown-it, GitHub flavour with autolinks) and
checked for markup made from the hostile text."""

import html
import re

import pytest
from markdown_it import MarkdownIt

from mnist_core.config import RunConfig
from tests.app.conftest import open_page
from tests.helpers import stored_run

PHISH = "[Your session expired, log in here](https://evil.example/login) EVILMARK"
IMAGE = "![i](https://evil.example/x.png) **EVILMARK** <b>x</b> www.evil.example"
_MD = MarkdownIt("gfm-like")
_MARKUP = re.compile(r"<(a|img|em|strong|b|code|del|s|h[1-6]|pre|ul|ol|blockquote)\b")


def _markdown_texts(at) -> list[str]:
    """Every string Streamlit renders as Markdown: element bodies, labels and help texts, table cells."""
    out = []

    def walk(node):
        proto = getattr(node, "proto", None)
        if proto is not None and hasattr(proto, "ListFields"):
            for field, value in proto.ListFields():
                if field.name in ("body", "label", "help") and isinstance(value, str):
                    out.append(value)
        for child in (getattr(node, "children", None) or {}).values():
            walk(child)

    walk(at._tree)
    for table in at.table:
        frame = table.value
        out += [str(c) for c in frame.columns] + [str(v) for v in frame.astype(str).to_numpy().ravel()]
    return out


def assert_shown_literally(at, *probes: str) -> None:
    """Every text showing hostile input ("evil" is in each payload) renders without markup, and each
    probe is visible exactly as typed somewhere on the page."""
    assert not at.exception, at.exception
    visible_texts = []
    for text in _markdown_texts(at):
        rendered = _MD.render(text)
        visible = html.unescape(re.sub(r"<[^>]+>", "", rendered)).replace("\u2060", "")
        if "evil" in visible.lower() or "evil" in text.lower():
            assert not _MARKUP.search(rendered), f"markup made from user text: {rendered!r}"
        visible_texts.append(visible)
    for probe in probes:
        assert any(probe in v for v in visible_texts), f"{probe!r} is not shown literally anywhere"


def _hostile_run(store, status="failed"):
    run = stored_run(store, RunConfig(epochs=2), [0.9, 0.95], name=PHISH, tags=["EVILMARK", "[t](https://evil.example)"])
    store.update(run.run_id, status=status, reason=IMAGE)
    return store.get(run.run_id)


def test_a_phishing_run_id_in_a_details_link_is_shown_as_text(queue):
    stored_run(queue.store, RunConfig(epochs=1), [0.9])
    at = open_page("details", run=PHISH)
    assert_shown_literally(at, PHISH)
    at = open_page("details", run=IMAGE)
    assert_shown_literally(at, IMAGE)


def test_bad_link_values_on_the_train_page_are_shown_as_text(queue):
    at = open_page("train", hidden=PHISH, activation=IMAGE)
    assert_shown_literally(at, PHISH, IMAGE)
    at = open_page("train", run=PHISH)  # following a run that is no run id
    assert_shown_literally(at, PHISH)


def test_run_names_and_reasons_are_shown_as_text_on_details_train_and_compare(queue):
    run = _hostile_run(queue.store)
    other = stored_run(queue.store, RunConfig(epochs=2, activation="elu"), [0.9, 0.95], name=IMAGE)
    assert_shown_literally(open_page("details", run=run.run_id), PHISH, IMAGE)
    assert_shown_literally(open_page("train", run=run.run_id), PHISH, IMAGE)
    at = open_page("compare", runs=f"{run.run_id},{other.run_id}")
    assert_shown_literally(at, PHISH, IMAGE)  # the page links and the settings diff's column headers


def test_a_refused_tag_is_quoted_as_text(queue):
    run = _hostile_run(queue.store, status="finished")
    at = open_page("compare", runs=run.run_id)
    at.text_input[2].set_value("[t](https://evil.example) " + "x" * 41)  # longer than a tag may be
    at.button(key="FormSubmitter:rename-Save").click().run()
    assert at.error and "at most 40 characters" in at.error[0].value
    assert_shown_literally(at, "[t](https://evil.ex")


@pytest.mark.parametrize("page", ["train", "pca"])
def test_a_dataset_error_quotes_its_path_as_text(queue, monkeypatch, tmp_path, page):
    bad = tmp_path / "*evil*" / "`mnist`.npz"  # a missing file: its path is quoted in the explanation
    monkeypatch.setenv("MNIST_DATA", str(bad))
    at = open_page(page)
    assert_shown_literally(at, "/*evil*/`mnist`.npz")
