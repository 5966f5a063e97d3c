"""Security basics, checked on the source and the shipped configuration."""

import re
import tomllib
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
SOURCES = [p for d in ("mnist_core", "app", "bench") for p in (PROJECT / d).rglob("*.py")]


def test_no_pickle_anywhere():
    for path in SOURCES:
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(c?pickle|dill|joblib)\b", text, re.M), path
        assert "allow_pickle=True" not in text and "safe_mode=False" not in text, path
    assert "allow_pickle=False" in (PROJECT / "mnist_core" / "data.py").read_text()
    assert "safe_mode=True" in (PROJECT / "mnist_core" / "model.py").read_text()


def test_streamlit_protections_stay_on_and_errors_stay_off_the_page():
    config = tomllib.loads((PROJECT / "app" / ".streamlit" / "config.toml").read_text())
    assert config["server"]["enableXsrfProtection"] is True and config["server"]["enableCORS"] is True
    assert config["client"]["showErrorDetails"] == "none"
    # Streamlit refuses larger uploads on the server (not only in the browser); Try a model's own check
    # (preprocess.MAX_FILE_BYTES) is the second line and must not be the tighter one.
    from mnist_core.preprocess import MAX_FILE_BYTES

    assert config["server"]["maxUploadSize"] * 2**20 <= MAX_FILE_BYTES


def test_no_user_text_is_rendered_as_html():
    for path in (PROJECT / "app").rglob("*.py"):
        assert "unsafe_allow_html" not in path.read_text(), path


def test_the_core_never_imports_the_ui():
    for path in (PROJECT / "mnist_core").rglob("*.py"):
        text = path.read_text()
        assert not re.search(r"^\s*(import|from)\s+(streamlit|app|ui)\b", text, re.M), path
