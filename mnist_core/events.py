"""TensorBoard event files for a run, written beside its run.json.

``tensorboard --logdir cached_runs`` then shows every run: accuracy and loss per epoch on the
Scalars dashboard (its wall-time axis is real time) and the run's settings on the HParams dashboard,
each run a trial named by its run id.
"""

from __future__ import annotations

from pathlib import Path

from .config import RunConfig
from .store import StoreError
from .tf_env import tf

SCALARS = {"accuracy/train": "train_accuracy", "accuracy/test": "test_accuracy",
           "loss/train": "train_loss", "loss/test": "test_loss",
           "time/train_seconds": "train_seconds"}


class EventWriter:
    def __init__(self, folder: Path, run_id: str, config: RunConfig):
        from tensorboard.plugins.hparams import api as hp

        self.folder = folder
        try:
            self.writer = tf.summary.create_file_writer(str(folder))
            with self.writer.as_default():
                hp.hparams(config.to_hparams(), trial_id=run_id)
            self.writer.flush()
        except (tf.errors.OpError, OSError) as e:
            raise StoreError(f"Could not write TensorBoard events in {folder} ({e}): check that the "
                             f"disk has space and the folder is writable.") from None

    def epoch(self, entry: dict) -> None:
        """Write one epoch's scalars and flush, so TensorBoard sees them at once."""
        try:
            with self.writer.as_default(step=entry["epoch"]):
                for tag, key in SCALARS.items():
                    tf.summary.scalar(tag, entry[key])
            self.writer.flush()
        except (tf.errors.OpError, OSError) as e:
            raise StoreError(f"Could not write TensorBoard events in {self.folder} ({e}): check that "
                             f"the disk has space and the folder is writable.") from None

    def close(self) -> None:
        try:
            self.writer.close()
        except (tf.errors.OpError, OSError):
            pass
