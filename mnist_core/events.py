"""TensorBoard event files for a run, written beside its run.json.

``tensorboard --logdir cached_runs`` then tells a run's whole story:
- Scalars: accuracy and loss per epoch (its wall-time axis is real time);
- HParams: each run a trial named by its run id, with its settings, its end time, and its status:
  finished and stopped runs as Success (a stop keeps every finished epoch), diverged and failed runs as
  Failure (a run whose process was killed gets no end: the app marks it ``interrupted`` later);
- Text: the settings as a table, and how the run ended in words (stopped, diverged, failed, with the
  reason), so runs the HParams status lumps together are told apart;
- Images: the final model's confusion matrix, and at snapshot epochs (see snapshots.py) a grid of
  the first layer's weights as pictures (grey = 0, light = positive);
- Histograms: at snapshot epochs each layer's weights, biases, pre-activations and gradients,
  in the snapshot's own fixed bins.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from .config import FIELDS, RunConfig
from .store import StoreError
from .tf_env import tf

SCALARS = {"accuracy/train": "train_accuracy", "accuracy/test": "test_accuracy",
           "loss/train": "train_loss", "loss/test": "test_loss",
           "time/train_seconds": "train_seconds",
           # only in runs that have them (a validation split; runs stored before the rate was recorded)
           "accuracy/validation": "val_accuracy", "loss/validation": "val_loss",
           "learning_rate": "learning_rate"}


class EventWriter:
    def __init__(self, folder: Path, run_id: str, config: RunConfig):
        from tensorboard.plugins.hparams import api as hp

        self.folder = folder
        try:
            self.writer = tf.summary.create_file_writer(str(folder))
            with self.writer.as_default(step=0):
                hp.hparams(config.to_hparams(), trial_id=run_id)
                tf.summary.text("run/settings", settings_markdown(config))
            self.writer.flush()
        except (tf.errors.OpError, OSError) as e:
            raise StoreError(f"Could not write TensorBoard events in {folder} ({e}): check that the "
                             f"disk has space and the folder is writable.") from None

    def epoch(self, entry: dict) -> None:
        """Write one epoch's scalars and flush, so TensorBoard sees them at once."""
        try:
            with self.writer.as_default(step=entry["epoch"]):
                for tag, key in SCALARS.items():
                    if key in entry:
                        tf.summary.scalar(tag, entry[key])
            self.writer.flush()
        except (tf.errors.OpError, OSError) as e:
            raise StoreError(f"Could not write TensorBoard events in {self.folder} ({e}): check that "
                             f"the disk has space and the folder is writable.") from None

    def snapshot(self, arrays: dict) -> None:
        """Write a snapshot's histograms and first-layer weight grid, at the snapshot's epoch."""
        from tensorboard.plugins.histogram import metadata

        from .snapshots import KINDS, layer_name, weight_grid

        try:
            with self.writer.as_default(step=int(arrays["epoch"])):
                for kind in KINDS:
                    for layer, (counts, edges) in enumerate(zip(arrays[f"hist_{kind}"], arrays[f"edges_{kind}"])):
                        tag = f"{kind}/{layer_name(layer, len(arrays[f'hist_{kind}']))}"
                        # TensorBoard's histogram format: one row per bucket, (left edge, right edge, count).
                        buckets = np.stack([edges[:-1], edges[1:], counts], axis=1).astype(np.float64)
                        tf.summary.write(tag, buckets, metadata=metadata.create_summary_metadata(tag, ""))
                grid = weight_grid(arrays["first_weights"])
                tf.summary.image("weights/first_layer", grid[None, :, :, None])
            self.writer.flush()
        except (tf.errors.OpError, OSError) as e:
            raise StoreError(f"Could not write TensorBoard events in {self.folder} ({e}): check that "
                             f"the disk has space and the folder is writable.") from None

    def end(self, status: str, reason: str | None, last_epoch: int, analysis: dict | None = None,
            end_time: float | None = None) -> None:
        """Close the HParams session with the run's status and end time, say how it ended in words,
        and draw the confusion matrix of the final model (if it was evaluated)."""
        from tensorboard.plugins.hparams import api_pb2
        from tensorboard.plugins.hparams import summary as hp_summary

        session_status = {"finished": api_pb2.STATUS_SUCCESS, "stopped": api_pb2.STATUS_SUCCESS}.get(
            status, api_pb2.STATUS_FAILURE)
        try:
            with self.writer.as_default(step=last_epoch):
                tf.summary.text("run/status", f"**{status}**" + (f": {reason}" if reason else ""))
                if analysis and analysis.get("confusion"):
                    tf.summary.image("analysis/confusion_matrix", confusion_image(analysis["confusion"])[None])
                end = hp_summary.session_end_pb(session_status, end_time_secs=end_time or time.time())
                tf.summary.experimental.write_raw_pb(end.SerializeToString(), step=last_epoch)
            self.writer.flush()
        except (tf.errors.OpError, OSError) as e:
            raise StoreError(f"Could not write TensorBoard events in {self.folder} ({e}): check that "
                             f"the disk has space and the folder is writable.") from None

    def close(self) -> None:
        try:
            self.writer.close()
        except (tf.errors.OpError, OSError):
            pass


def settings_markdown(config: RunConfig) -> str:
    """Every setting as a Markdown table (TensorBoard's Text dashboard renders it)."""
    from .compare import format_setting

    values = config.to_dict()
    rows = [f"| {f.label} | {format_setting(values[f.name])} |" for f in FIELDS]
    return "\n".join(["| setting | value |", "| --- | --- |", *rows])


def confusion_image(confusion, cell: int = 30) -> np.ndarray:
    """The confusion matrix as an RGB picture: a cell per (true, predicted) pair, shaded by its share of
    the true digit's images (white 0 to blue 1), with the count written in; rows are the true digit."""
    from PIL import Image, ImageDraw, ImageFont

    cm = np.asarray(confusion, dtype=np.int64)
    n = len(cm)
    share = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    left, top = cell, 2 * cell  # the digits' labels; above them, what rows and columns mean
    img = Image.new("RGB", (left + n * cell + 4, top + n * cell + 4), "white")
    draw = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=11)
    blue = np.array([31, 119, 180])
    draw.text((4, 4), "rows: true digit, columns: predicted", fill="dimgray", font=font)
    for i in range(n):
        draw.text((left // 2, top + i * cell + cell // 2), str(i), fill="black", font=font, anchor="mm")
        draw.text((left + i * cell + cell // 2, top - cell // 2), str(i), fill="black", font=font, anchor="mm")
        for j in range(n):
            colour = tuple(int(c) for c in np.round(255 - share[i, j] * (255 - blue)))
            box = (left + j * cell, top + i * cell, left + (j + 1) * cell - 1, top + (i + 1) * cell - 1)
            draw.rectangle(box, fill=colour, outline=(220, 220, 220))
            if cm[i, j]:
                draw.text((box[0] + cell // 2, box[1] + cell // 2), str(cm[i, j]), font=font, anchor="mm",
                          fill="white" if share[i, j] > 0.5 else "black")
    return np.asarray(img, dtype=np.uint8)
