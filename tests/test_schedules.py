"""Each learning-rate schedule gives the rates of Keras' own schedule classes: the numpy preview the
Train page draws, the variable-backed schedule the compiled loop runs, and the per-epoch rates a run
records."""

import numpy as np
import pytest

from mnist_core import schedules
from mnist_core.config import RunConfig
from mnist_core.tf_env import keras

K = keras.optimizers.schedules
# 2,100 examples in batches of 70: 30 steps an epoch; 5 epochs: 150 steps.
BASE = dict(train_examples=2100, epochs=5, learning_rate=0.1, decay_rate=0.5, decay_epochs=2)
STEPS = [0, 1, 29, 30, 44, 45, 59, 60, 61, 89, 120, 149, 150, 400]


def keras_reference(config: RunConfig):
    """The schedule written directly with Keras' classes and plain numbers, in steps."""
    s = config.steps_per_epoch
    total = s * config.epochs
    lr, rate, every = config.learning_rate, config.decay_rate, config.decay_epochs * s
    warm = round(0.3 * total)
    return {
        "exponential": K.ExponentialDecay(lr, every, rate),
        "step": K.ExponentialDecay(lr, every, rate, staircase=True),
        "cosine": K.CosineDecay(lr, total),
        "one_cycle": K.CosineDecay(lr / 25, total - warm, warmup_target=lr, warmup_steps=warm),
    }[config.schedule]


KINDS = ["exponential", "step", "cosine", "one_cycle"]


@pytest.mark.parametrize("kind", KINDS)
def test_the_preview_and_the_trained_schedule_match_keras_classes(kind):
    config = RunConfig(schedule=kind, **BASE)
    expected = np.array([float(keras_reference(config)(s)) for s in STEPS])
    np.testing.assert_allclose(schedules.rates(config, STEPS), expected, rtol=1e-5, atol=1e-7)  # float32 in Keras
    knobs = schedules.Knobs(config)
    np.testing.assert_allclose([float(knobs.schedule(s)) for s in STEPS], expected, rtol=1e-5, atol=1e-7)  # float32 in Keras


@pytest.mark.parametrize("kind", KINDS)
def test_assigning_another_runs_numbers_gives_that_runs_schedule(kind):
    knobs = schedules.Knobs(RunConfig(schedule=kind, **BASE))
    other = RunConfig(schedule=kind, **{**BASE, "learning_rate": 0.03, "epochs": 9, "decay_rate": 0.2,
                                        "decay_epochs": 3, "batch_size": 50})
    knobs.assign(other)
    expected = [float(keras_reference(other)(s)) for s in STEPS]
    np.testing.assert_allclose([float(knobs.schedule(s)) for s in STEPS], expected, rtol=1e-5, atol=1e-7)  # float32 in Keras


def test_shapes_a_student_would_recognise():
    lr = 0.1
    step = schedules.rates(RunConfig(schedule="step", **BASE), [0, 59, 60, 119, 120])
    assert list(step) == pytest.approx([lr, lr, lr / 2, lr / 2, lr / 4])
    one = schedules.rates(RunConfig(schedule="one_cycle", **BASE), [0, 45, 149])
    assert one[0] == pytest.approx(lr / 25) and one[1] == pytest.approx(lr) and one[2] < lr / 1000
    cos = schedules.rates(RunConfig(schedule="cosine", **BASE), [0, 75, 150])
    assert list(cos) == pytest.approx([lr, lr / 2, 0.0], abs=1e-12)
    flat = schedules.rates(RunConfig(schedule="constant", **BASE), range(150))
    assert set(flat) == {lr}


def test_epoch_end_steps_are_the_last_step_of_each_epoch():
    assert list(schedules.epoch_end_steps(RunConfig(**BASE))) == [29, 59, 89, 119, 149]
