"""Helpers for generating small dataset files in tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np


def write_idx(path: Path, array: np.ndarray, gz: bool = True) -> Path:
    """Write an array in the IDX format (the format of the original MNIST files)."""
    import gzip

    header = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    raw = header + array.astype(np.uint8).tobytes()
    if gz:
        path = path.with_name(path.name + ".gz")
        path.write_bytes(gzip.compress(raw))
    else:
        path.write_bytes(raw)
    return path


def fake_arrays(n_train: int = 120, n_test: int = 30, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {"x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
            "y_train": rng.integers(0, 10, n_train).astype(np.uint8),
            "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
            "y_test": rng.integers(0, 10, n_test).astype(np.uint8)}


def write_idx_folder(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    names = {"x_train": "train-images-idx3-ubyte", "y_train": "train-labels-idx1-ubyte",
             "x_test": "t10k-images-idx3-ubyte", "y_test": "t10k-labels-idx1-ubyte"}
    for key, name in names.items():
        write_idx(folder / name, arrays[key], gz)
    return folder


class FakeTrainer:
    """Stands in for training where learning is not the point (the job queue, the pages): writes
    made-up epochs to the store at once, as the real runner does, and reports the same events."""

    def __init__(self, accuracy_step: float = 0.02):
        self.configs = []
        self.accuracy_step = accuracy_step

    def __call__(self, config, store, run_id, on_event, stop, data_path=None):
        self.configs.append(config)
        store.update(run_id, status="running")
        on_event({"event": "setup", "run_id": run_id, "param_count": config.param_count(config.pca or 154),
                  "steps_per_epoch": config.train_examples // config.batch_size, "pca": None,
                  "setup_seconds": 0.0, "source": "fake"})
        for epoch in range(1, config.epochs + 1):
            if stop.is_set():
                store.update(run_id, status="stopped", reason="stopped")
                on_event({"event": "end", "run_id": run_id, "status": "stopped", "reason": "stopped"})
                return
            acc = min(0.999, 0.9 + self.accuracy_step * epoch)
            entry = {"epoch": epoch, "train_loss": 1 / epoch, "train_accuracy": acc - 0.01,
                     "test_loss": 1.1 / epoch, "test_accuracy": acc, "train_seconds": 0.5 * epoch,
                     "wall_seconds": 0.6 * epoch}
            store.append_epoch(run_id, entry)
            on_event({"event": "epoch", "run_id": run_id, **entry})
        store.update(run_id, status="finished")
        on_event({"event": "end", "run_id": run_id, "status": "finished", "reason": None})


def stored_run(store, config, accuracies, status="finished", name=None, tags=None, seconds_per_epoch=0.5):
    """A run written straight into the store, with the given test accuracy per epoch."""
    run_id = store.create(config, name=name, tags=tags)
    # One write for the whole history (the store derives the same numbers as after one append per
    # epoch): the Study's tests store hundreds of runs of up to 60 epochs.
    history = [{"epoch": epoch, "train_loss": 1 - acc, "train_accuracy": acc, "test_loss": 1.2 - acc,
                "test_accuracy": acc, "train_seconds": seconds_per_epoch * epoch,
                "wall_seconds": (seconds_per_epoch + 0.05) * epoch} for epoch, acc in enumerate(accuracies, 1)]
    store.update(run_id, lambda d: d["history"].extend(history), status=status)
    return store.get(run_id)


def png_bytes(width: int, height: int, mode: str = "L", digit: bool = True, header_only: bool = False) -> bytes:
    """A PNG of ``width`` x ``height`` black pixels (grey "L" or "RGBA"), with a white bar as the digit,
    written row by row: a 20000 x 20000 picture costs a few kB of memory here and ~1 MB on disk."""
    import struct
    import zlib

    channels, colour = {"L": (1, 0), "RGBA": (4, 6)}[mode]

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    black = b"\0" + b"\0" * (width * channels)  # filter byte 0, then the pixels
    ink = bytearray(black)
    for x in range(width * 2 // 5, width * 3 // 5):
        ink[1 + x * channels: 1 + (x + 1) * channels] = b"\xff" * channels
    z = zlib.compressobj(9)
    parts = []
    for y in range(0 if header_only else height):
        row = bytes(ink) if digit and height // 5 <= y < height * 4 // 5 else black
        parts.append(z.compress(row))
    parts.append(z.flush())
    header = struct.pack(">IIBBBBB", width, height, 8, colour, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", b"".join(parts)) + chunk(b"IEND", b"")
