"""A run.json on disk: bounded when read, never read or written through a link, written whole or not at all."""

import json
import os

import pytest

from mnist_core import runfile
from mnist_core.config import RunConfig
from mnist_core.store import RunStore, StoreError


@pytest.fixture
def store(tmp_path):
    return RunStore(tmp_path / "user", tmp_path / "reference")


def test_a_run_json_up_to_32_mb_is_read_and_a_larger_one_is_refused(store):
    run_id = store.create(RunConfig())
    path = store.user_dir / run_id / "run.json"
    text = path.read_bytes()
    path.write_bytes(text + b" " * (runfile.MAX_RECORD_BYTES - len(text)))
    assert runfile.read_record(path)["run_id"] == run_id
    path.write_bytes(text + b" " * (runfile.MAX_RECORD_BYTES + 1 - len(text)))
    with pytest.raises(ValueError) as e:
        runfile.read_record(path)
    assert str(e.value) == "run.json is larger than 32 MB"


def test_a_run_json_is_written_readable_private_to_its_owner_and_never_through_a_link(tmp_path):
    import threading

    path = tmp_path / "run.json"
    runfile.write_json_atomic(path, {"a": 1, "b": [2]})
    assert path.read_text().splitlines()[:2] == ["{", ' "a": 1,'] and path.stat().st_mode & 0o777 == 0o644 & ~_umask()
    # a link planted where the temporary file will be is not written through
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    (tmp_path / f".run.json.{os.getpid()}.{threading.get_ident()}.tmp").symlink_to(outside)
    with pytest.raises(StoreError):
        runfile.write_json_atomic(path, {"a": 2})
    assert outside.read_text() == "keep me" and json.loads(path.read_text())["a"] == 1
    with pytest.raises(StoreError) as e:
        runfile.write_json_atomic(path, {"a": float("nan")})
    assert str(e.value).startswith(f"Could not write {path} (Out of range float values are not JSON compliant")
    missing = tmp_path / "gone" / "run.json"
    with pytest.raises(StoreError) as e:
        runfile.write_json_atomic(missing, {})
    assert str(e.value) == (f"Could not write {missing} (No such file or directory): check that the disk has "
                            f"space and the folder is writable.")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
