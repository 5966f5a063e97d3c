"""Layer health, measured at each epoch end on a fixed probe batch of training images.

Two failure modes the notebook worried about:
- dying units: a ReLU unit whose input is negative for every image outputs 0 and gets no gradient,
  so it never recovers (the notebook's reason to try ELU). We report, per hidden layer, the share of
  units whose pre-activation is <= 0 on every probe image: units that never activate;
- vanishing gradients: if the gradient shrinks on its way back, the first layers barely learn (the
  notebook's reason for batch norm). We report the L2 norm of the loss gradient for each layer's
  weight matrix, input side first, output layer last.
"""

from __future__ import annotations

import numpy as np

from .tf_env import keras, tf

PROBE_SIZE = 1000


class HealthProbe:
    def __init__(self, model: "keras.Model", n_hidden: int, batch_norm: bool, x: np.ndarray, y: np.ndarray):
        pre = [model.get_layer(f"{'bn' if batch_norm else 'dense'}_{i}").output for i in range(1, n_hidden + 1)]
        self.inner = keras.Model(model.inputs, [*pre, model.output])  # shares the model's layers
        self.kernels = [model.get_layer(f"dense_{i}").kernel for i in range(1, n_hidden + 1)]
        self.kernels.append(model.get_layer("logits").kernel)
        # Variables, not constants: a later run of the same shape reuses this probe with its own batch.
        self.x = tf.Variable(x[:PROBE_SIZE], trainable=False)
        self.y = tf.Variable(y[:PROBE_SIZE], trainable=False)
        self.loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        self.measure = tf.function(self._measure)

    def set_batch(self, x: np.ndarray, y: np.ndarray) -> None:
        self.x.assign(x[:PROBE_SIZE])
        self.y.assign(y[:PROBE_SIZE])

    def _measure(self):
        with tf.GradientTape() as tape:
            *pre, logits = self.inner(self.x, training=False)
            loss = self.loss_fn(self.y, logits)
        grads = tape.gradient(loss, self.kernels)
        dead = [tf.reduce_mean(tf.cast(tf.reduce_all(p <= 0, axis=0), tf.float32)) for p in pre]
        return dead, [tf.norm(g) for g in grads]

    def __call__(self) -> dict:
        dead, norms = self.measure()
        return {"dead_units": [float(d) for d in dead], "grad_norm": [float(n) for n in norms]}
