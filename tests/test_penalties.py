"""The fast sums of penalties.py give Keras' and TensorFlow's numbers, compiled by XLA as in training."""

import numpy as np
import pytest

from mnist_core import penalties
from mnist_core.tf_env import keras, tf


@pytest.mark.parametrize("shape", [(784, 300), (300, 100), (100, 10), (4097,), (8193,), (3, 5), ()])
def test_fast_sum_is_reduce_sums_value(shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    got = tf.function(penalties.fast_sum, jit_compile=True)(tf.constant(x))
    assert float(got) == pytest.approx(float(x.astype(np.float64).sum()), rel=1e-5, abs=1e-4)


def _tiny_model(regularizer=None):
    """784 -> 16 -> 10: the first kernel (12,544 weights) is large enough to be folded."""
    dense = dict(kernel_regularizer=regularizer, kernel_initializer=keras.initializers.GlorotUniform(seed=1))
    inputs = keras.Input(shape=(784,))
    h = keras.layers.Dense(16, activation="relu", **dense)(inputs)
    return keras.Model(inputs, keras.layers.Dense(10, **dense)(h))


@pytest.mark.parametrize("l1, l2", [(0.0, 1e-2), (1e-3, 0.0), (1e-3, 1e-2)])
def test_the_penalty_steps_exactly_as_keras_regularisers_do(l1, l2):
    rng = np.random.default_rng(1)
    x = tf.constant(rng.random((70, 784), dtype=np.float32))
    y = tf.constant(rng.integers(0, 10, 70).astype(np.int32))
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)

    def one_step(model, extra):
        opt = keras.optimizers.SGD(0.5)
        opt.build(model.trainable_variables)

        @tf.function(jit_compile=True)
        def step():
            with tf.GradientTape() as tape:
                loss = loss_fn(y, model(x, training=True)) + extra(model)
            opt.apply_gradients(zip(tape.gradient(loss, model.trainable_variables), model.trainable_variables))
            return loss

        return float(step()), [w.numpy() for w in model.trainable_variables]

    theirs = _tiny_model(keras.regularizers.L1L2(l1=l1, l2=l2))
    ours = _tiny_model()
    kernels = [layer.kernel for layer in ours.layers if isinstance(layer, keras.layers.Dense)]
    keras_loss, keras_weights = one_step(theirs, lambda m: tf.add_n(m.losses))
    our_loss, our_weights = one_step(ours, lambda m: penalties.penalty(kernels, l1, l2, bool(l1), bool(l2)))
    assert our_loss == pytest.approx(keras_loss, rel=1e-6)
    start = [w.numpy() for w in _tiny_model().trainable_variables]
    for a, b, w0 in zip(our_weights, keras_weights, start):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
        assert not np.allclose(a, w0)  # the step moved every weight


def test_clipping_bounds_the_global_norm_as_tensorflow_does():
    rng = np.random.default_rng(2)
    grads = [tf.constant(rng.standard_normal(s).astype(np.float32)) for s in [(784, 300), (300,), (300, 100), (10,)]]
    norm = float(tf.linalg.global_norm(grads))
    assert float(penalties.global_norm(grads)) == pytest.approx(norm, rel=1e-5)
    clip = tf.function(penalties.clip_by_global_norm, jit_compile=True)
    for limit in (1.0, norm / 2, norm * 2):
        clipped = clip(grads, tf.constant(limit))
        assert float(tf.linalg.global_norm(clipped)) <= min(limit, norm) * (1 + 1e-5)
        expected, _ = tf.clip_by_global_norm(grads, limit)
        for a, b in zip(clipped, expected):
            np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-8)
    # An infinite gradient gives NaN, as TensorFlow's does, so a run that blows up is seen as diverged.
    broken = clip([tf.constant([np.inf, 1.0], tf.float32)], tf.constant(1.0))
    assert np.isnan(broken[0].numpy()).all()
