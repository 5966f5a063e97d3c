"""Epoch-end decisions of a run, made by Keras' own callbacks.

Two knobs act between epochs rather than inside the compiled step: the plateau schedule (Keras'
``ReduceLROnPlateau``: the learning rate times decay_rate after decay_epochs epochs without a lower
validation loss) and early stopping (Keras' ``EarlyStopping`` with ``restore_best_weights``: the run
ends after ``patience`` epochs without a lower validation loss, and the model gets the weights of the
best epoch back). Our loop is not ``model.fit``, so the callbacks are handed a small stand-in that has
what they touch of a model: its optimizer, its weights and the stop flag.
"""

from __future__ import annotations

from .config import RunConfig
from .tf_env import keras


class _CallbackModel:
    """What Keras' callbacks touch of a model: its optimizer, weights and stop flag. Our loop is not
    ``model.fit``, but ReduceLROnPlateau and EarlyStopping work unchanged against this."""

    def __init__(self, loop):
        self.optimizer, self.stop_training = loop.optimizer, False
        self.get_weights, self.set_weights = loop.model.get_weights, loop.model.set_weights


class EpochEnd:
    """Epoch-end decisions, made by Keras' own callbacks: the plateau schedule (ReduceLROnPlateau)
    and early stopping (EarlyStopping, which keeps the best epoch's weights and restores them)."""

    def __init__(self, config: RunConfig, loop):
        self.config, self.loop, self.stop_reason = config, loop, None
        self.shim = _CallbackModel(loop)
        self.callbacks = []
        if config.schedule == "plateau":
            self.plateau = keras.callbacks.ReduceLROnPlateau("val_loss", factor=config.decay_rate,
                                                             patience=config.decay_epochs)
            self.callbacks.append(self.plateau)
        self.early = None
        if config.patience:
            self.early = keras.callbacks.EarlyStopping("val_loss", patience=config.patience,
                                                       restore_best_weights=True)
            self.callbacks.append(self.early)
        for c in self.callbacks:
            c.set_model(self.shim)
            c.on_train_begin()
        self.steps = max(1, config.steps_per_epoch)

    def rate(self, epoch: int) -> float:
        """The learning rate of the epoch's last step."""
        schedule = self.loop.knobs.schedule
        if schedule is None:
            return float(self.loop.optimizer.learning_rate.numpy())
        return float(schedule(epoch * self.steps - 1).numpy())

    def after_epoch(self, epoch: int, entry: dict) -> bool:
        """Let the callbacks see the epoch; True when early stopping ends the run."""
        logs = {"val_loss": entry.get("val_loss")}
        for c in self.callbacks:
            c.on_epoch_end(epoch - 1, logs)  # Keras counts epochs from 0
        if self.shim.stop_training and epoch < self.config.epochs:
            best = self.early.best_epoch + 1
            self.stop_reason = (f"early stopping: the validation loss did not improve for {self.config.patience} "
                                f"epochs after epoch {best}; the model holds the weights of epoch {best}")
            return True
        return False

    def restore_best(self) -> int | None:
        """With early stopping, put the best epoch's weights back; return that epoch (1-based)."""
        if self.early is None or self.early.best_weights is None:
            return None
        self.early.on_train_end()
        return self.early.best_epoch + 1
