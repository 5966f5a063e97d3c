"""The network: a multi-layer perceptron built with Keras from a RunConfig.

Each hidden layer is Dense -> [BatchNormalization] -> activation, as in the notebook: batch norm
normalises the pre-activations of a mini-batch to zero mean and unit variance, then lets the layer
learn a scale (gamma) and shift (beta). While training it uses the statistics of the current batch;
when evaluating it uses moving averages collected during training (momentum 0.9), so a test
prediction does not depend on which other images share its batch. (The notebook evaluated with
``training=True``, i.e. with test-batch statistics; ``bn_eval="batch"`` reproduces that, see
``batch_statistics_logits``.)

With ``dropout`` each hidden activation is followed by a dropout layer (alpha dropout for SELU,
which keeps its self-normalising mean and variance); it is active only while training.

The output is 10 logits; the softmax lives in the loss (``from_logits=True``), which is
numerically safer than a softmax layer followed by a log.
"""

from __future__ import annotations

from .config import NUM_CLASSES, RunConfig
from .tf_env import keras, tf

# Initialisers matched to the activation keep the signal's variance steady through the layers:
# He for the ReLU family, LeCun for SELU (required for its self-normalising property), Glorot for
# the saturating tanh and sigmoid.
_INITIALIZERS = {"relu": "he_normal", "elu": "he_normal", "leaky_relu": "he_normal",
                 "gelu": "he_normal", "selu": "lecun_normal", "tanh": "glorot_uniform",
                 "sigmoid": "glorot_uniform"}


def _initializer(config: RunConfig, layer_seed: int, output: bool = False):
    """The kernel initialiser of one layer. 'auto' picks by activation (Glorot for the output layer);
    an explicit choice applies to every layer, the output included, so 'zeros' is really symmetric."""
    name = config.init
    if name == "auto":
        name = "glorot_uniform" if output else _INITIALIZERS[config.activation]
    if name == "zeros":
        return keras.initializers.Zeros()
    return keras.initializers.get(name).__class__(seed=layer_seed)


def _mix32(h):
    """A 32-bit integer hash (Wellons' lowbias32): each output bit depends on every input bit."""
    sh, xor = tf.bitwise.right_shift, tf.bitwise.bitwise_xor
    h = xor(h, sh(h, 16)) * tf.constant(0x7FEB352D, tf.uint32)
    h = xor(h, sh(h, 15)) * tf.constant(0x846CA68B, tf.uint32)
    return xor(h, sh(h, 16))


@keras.saving.register_keras_serializable(package="mnist_core")
class RateDropout(keras.layers.Layer):
    """Dropout, or SELU's alpha dropout, with its rate held in a (non-trainable) weight.

    Keras' Dropout and AlphaDropout take the rate as a Python number, which a compiled training step
    bakes into its code; here it is a weight the step reads, so a run with another rate reuses the
    compiled code (and the rate travels with the model's weights). The arithmetic is Keras': keep each
    unit with probability 1 - rate and scale the kept ones by 1 / (1 - rate), so the expected output
    is unchanged; alpha dropout sets dropped units to SELU's negative saturation value instead of 0
    and applies the affine correction that keeps the mean and variance.

    The random mask is a counter-based hash of (seed, draw number, unit index) rather than Keras'
    random ops: under XLA on a CPU those cost 0.5 to 60 ms a step here (threefry to the default
    algorithm), several times the step itself; the hash costs a few integer operations per unit.
    """

    def __init__(self, rate: float = 0.0, alpha: bool = False, seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.initial_rate, self.alpha, self.seed = float(rate), bool(alpha), int(seed) % 2**31

    def build(self, input_shape):
        self.rate = self.add_weight(shape=(), initializer=keras.initializers.Constant(self.initial_rate),
                                    trainable=False, name="rate")
        # The seed is a weight too (not a number in the compiled code), so a reused loop takes a new run's.
        self.seed_weight = self.add_weight(shape=(), dtype="int32", initializer=keras.initializers.Constant(self.seed),
                                           trainable=False, name="seed")
        self.draws = self.add_weight(shape=(), dtype="int32", initializer="zeros", trainable=False, name="draws")

    def uniform(self, shape):
        """One uniform number in [0, 1) per unit, new at every training step."""
        self.draws.assign_add(1)
        key = _mix32(tf.cast(self.draws, tf.uint32) * tf.constant(0x9E3779B9, tf.uint32)
                     + tf.cast(self.seed_weight, tf.uint32))
        units = tf.cast(tf.reshape(tf.range(tf.reduce_prod(shape)), shape), tf.uint32)
        bits = _mix32(units * tf.constant(0x85EBCA6B, tf.uint32) + key)
        return tf.cast(tf.bitwise.right_shift(bits, 8), tf.float32) * (1.0 / (1 << 24))

    def call(self, inputs, training=False):
        if not training:
            return inputs
        kept = tf.cast(self.uniform(tf.shape(inputs)) >= self.rate, inputs.dtype)
        if not self.alpha:
            return inputs * kept / (1.0 - self.rate)
        alpha_p = -1.6732632423543772848170429916717 * 1.0507009873554804934193349852946
        a = ((1 - self.rate) * (1 + self.rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * self.rate
        return a * (inputs * kept + alpha_p * (1 - kept)) + b

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "rate": float(self.rate.numpy()) if self.built else self.initial_rate,
                "alpha": self.alpha, "seed": self.seed}


def build_model(config: RunConfig, input_size: int) -> "keras.Model":
    """Layers are named dense_i / bn_i / act_i / drop_i (i from 1) so probes can find the hidden activations."""
    inputs = keras.Input(shape=(input_size,), name="pixels")
    h = inputs
    for i, units in enumerate(config.hidden, start=1):
        # With batch norm the Dense bias is redundant: BN subtracts the mean and adds its own beta.
        h = keras.layers.Dense(units, use_bias=not config.batch_norm, name=f"dense_{i}",
                               kernel_initializer=_initializer(config, config.seed + i))(h)
        if config.batch_norm:
            h = keras.layers.BatchNormalization(momentum=0.9, name=f"bn_{i}")(h)
        h = keras.layers.Activation(config.activation, name=f"act_{i}")(h)
        if config.dropout:
            h = RateDropout(config.dropout, alpha=config.activation == "selu", seed=config.seed + 100 + i,
                            name=f"drop_{i}")(h)
    logits = keras.layers.Dense(NUM_CLASSES, name="logits",
                                kernel_initializer=_initializer(config, config.seed, output=True))(h)
    return keras.Model(inputs, logits, name="mlp_" + "_".join(map(str, config.hidden)))


def kernels(model: "keras.Model") -> list:
    """The weight matrices (not biases, not BN): what L1/L2 penalise and max-norm constrains."""
    return [layer.kernel for layer in model.layers if isinstance(layer, keras.layers.Dense)]


def build_optimizer(config: RunConfig, learning_rate=None) -> "keras.optimizers.Optimizer":
    """Plain SGD steps down the gradient; momentum keeps a running velocity; Nesterov evaluates the
    gradient a step ahead along that velocity; Adagrad, RMSprop and Adam scale each weight's step by
    the history of its own gradients (adaptive methods). ``learning_rate`` may be a number or a Keras
    schedule (see schedules.py); by default the config's constant rate."""
    lr = config.learning_rate if learning_rate is None else learning_rate
    opt = keras.optimizers
    return {
        "sgd": lambda: opt.SGD(lr),
        "momentum": lambda: opt.SGD(lr, momentum=0.9),
        "nesterov": lambda: opt.SGD(lr, momentum=0.9, nesterov=True),
        "adagrad": lambda: opt.Adagrad(lr),
        "rmsprop": lambda: opt.RMSprop(lr),
        "adam": lambda: opt.Adam(lr),
    }[config.optimizer]()


def for_export(model: "keras.Model", config: RunConfig, pca=None) -> "keras.Model":
    """The trained network wrapped so plain Keras, with no code from this project, does the natural
    thing with it (see export.py for what we promise its users):

    - images in: ``(N, 28, 28)`` or ``(N, 784)`` (also ``(N, 28, 28, 1)``), uint8 0-255 or float 0-1.
      Keras casts every input to float32 on the way in, so the dtype cannot be read inside the model:
      it decides per image by value instead. An image whose brightest pixel is above 1 is taken as
      0-255 and divided by 255; otherwise it is already 0-1.
    - the PCA projection (when the run used one) as a frozen Dense layer: sklearn's ``transform`` is
      ``(x - mean) @ components.T``, a Dense with kernel ``components.T`` and bias ``-mean @ components.T``;
    - class probabilities out (a Softmax after the logits we trained on);
    - compiled with the run's optimizer, sparse cross-entropy and accuracy, so ``evaluate`` and ``fit``
      work on integer labels at once.

    Everything is a built-in layer or a ``keras.ops`` call recorded in the functional graph, so
    ``keras.saving.load_model`` reads it in safe mode (no Lambda, no custom class to register).
    """
    # Shape (None, 1) is how one model takes two layouts: Keras adds a trailing axis to a rank-2 input
    # when the declared last axis is 1, giving (N, 784, 1), and passes a rank-3 (N, 28, 28) as it is.
    # Either way the Reshape below makes (N, 784).
    model = without_dropout(model, config)
    images = keras.Input(shape=(None, 1), name="images")
    x = keras.layers.Reshape((784,), name="flatten")(images)
    brightest = keras.ops.max(x, axis=1, keepdims=True)
    x = x * keras.ops.where(brightest > 1.0, 1.0 / 255.0, 1.0)  # 0-255 images to 0-1
    if pca is not None:
        components = pca.components_.T.astype("float32")
        project = keras.layers.Dense(components.shape[1], name="pca", trainable=False)
        x = project(x)
        project.set_weights([components, (-pca.mean_ @ components).astype("float32")])
    probabilities = keras.layers.Softmax(name="probabilities")(model(x))
    exported = keras.Model(images, probabilities, name=model.name + ("_pca" if pca is not None else ""))
    optimizer = build_optimizer(config)
    exported.compile(optimizer=optimizer, loss=keras.losses.SparseCategoricalCrossentropy(),
                     metrics=[keras.metrics.SparseCategoricalAccuracy(name="accuracy")])
    # Built now, so its (fresh) state is saved and a loaded model's optimizer matches it without warnings.
    optimizer.build(exported.trainable_variables)
    return exported


def batch_statistics_logits(model: "keras.Model", x):
    """The logits as the notebook evaluated them (``training=True`` in TF1): every batch-norm layer
    normalises with the mean and variance of ``x`` itself (the whole evaluated set, one batch, as the
    notebook fed it) instead of its moving averages. Unlike calling the model with training=True, this
    leaves the moving averages alone and drops nothing."""
    h = x
    for layer in model.layers[1:]:  # layers[0] is the input
        if isinstance(layer, keras.layers.BatchNormalization):
            mean, variance = tf.nn.moments(h, axes=[0])  # per unit, over the batch (biased, as in training)
            h = tf.nn.batch_normalization(h, mean, variance, layer.beta, layer.gamma, layer.epsilon)
        elif not isinstance(layer, RateDropout):  # dropout is off when evaluating
            h = layer(h)
    return h


def without_dropout(model: "keras.Model", config: RunConfig) -> "keras.Model":
    """The same network without its dropout layers (which only act in training), so the saved model
    holds nothing but built-in Keras layers. The other layers' weights are copied by name."""
    if not config.dropout:
        return model
    plain = build_model(config.replace(dropout=0.0), model.input_shape[-1])
    for layer in plain.layers:
        if layer.weights:
            layer.set_weights(model.get_layer(layer.name).get_weights())
    return plain


def outputs_probabilities(model: "keras.Model") -> bool:
    """Models saved by for_export end in a Softmax; older ones (before it) output logits."""
    return isinstance(model.layers[-1], keras.layers.Softmax)


def load_model(path) -> "keras.Model":
    """Load a saved .keras file with safe_mode on: no arbitrary Python (lambdas, pickles) is run."""
    return keras.saving.load_model(path, safe_mode=True, compile=False)
