"""The network: a multi-layer perceptron built with Keras from a RunConfig.

Each hidden layer is Dense -> [BatchNormalization] -> activation, as in the notebook: batch norm
normalises the pre-activations of a mini-batch to zero mean and unit variance, then lets the layer
learn a scale (gamma) and shift (beta). While training it uses the statistics of the current batch;
when evaluating it uses moving averages collected during training (momentum 0.9), so a test
prediction does not depend on which other images share its batch. (The notebook evaluated with
``training=True``, i.e. with test-batch statistics; we do not copy that.)

The output is 10 logits; the softmax lives in the loss (``from_logits=True``), which is
numerically safer than a softmax layer followed by a log.
"""

from __future__ import annotations

from .config import NUM_CLASSES, RunConfig
from .tf_env import keras

# Initialisers matched to the activation keep the signal's variance steady through the layers:
# He for the ReLU family, LeCun for SELU (required for its self-normalising property), Glorot for
# the saturating tanh and sigmoid.
_INITIALIZERS = {"relu": "he_normal", "elu": "he_normal", "leaky_relu": "he_normal",
                 "gelu": "he_normal", "selu": "lecun_normal", "tanh": "glorot_uniform",
                 "sigmoid": "glorot_uniform"}


def build_model(config: RunConfig, input_size: int) -> "keras.Model":
    """Layers are named dense_i / bn_i / act_i (i from 1) so probes can find the hidden activations."""
    init = keras.initializers.get(_INITIALIZERS[config.activation]).__class__
    inputs = keras.Input(shape=(input_size,), name="pixels")
    h = inputs
    for i, units in enumerate(config.hidden, start=1):
        # With batch norm the Dense bias is redundant: BN subtracts the mean and adds its own beta.
        h = keras.layers.Dense(units, use_bias=not config.batch_norm, name=f"dense_{i}",
                               kernel_initializer=init(seed=config.seed + i))(h)
        if config.batch_norm:
            h = keras.layers.BatchNormalization(momentum=0.9, name=f"bn_{i}")(h)
        h = keras.layers.Activation(config.activation, name=f"act_{i}")(h)
    logits = keras.layers.Dense(NUM_CLASSES, name="logits",
                                kernel_initializer=keras.initializers.GlorotUniform(seed=config.seed))(h)
    return keras.Model(inputs, logits, name="mlp_" + "_".join(map(str, config.hidden)))


def build_optimizer(config: RunConfig, learning_rate: float | None = None) -> "keras.optimizers.Optimizer":
    """Plain SGD steps down the gradient; momentum keeps a running velocity; Nesterov evaluates the
    gradient a step ahead along that velocity; Adagrad, RMSprop and Adam scale each weight's step by
    the history of its own gradients (adaptive methods)."""
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


def with_pca_input(model: "keras.Model", pca) -> "keras.Model":
    """The trained network behind a frozen PCA projection, so the saved model takes raw pixels.

    sklearn's PCA.transform is ``(x - mean) @ components.T``: exactly a Dense layer with kernel
    ``components.T`` and bias ``-mean @ components.T``. Training used the pre-projected inputs (faster);
    the saved model carries the projection so evaluating or drawing needs nothing else.
    """
    components = pca.components_.T.astype("float32")
    inputs = keras.Input(shape=(components.shape[0],), name="pixels")
    project = keras.layers.Dense(components.shape[1], name="pca", trainable=False)
    z = project(inputs)
    project.set_weights([components, (-pca.mean_ @ components).astype("float32")])
    return keras.Model(inputs, model(z), name=model.name + "_pca")


def load_model(path) -> "keras.Model":
    """Load a saved .keras file with safe_mode on: no arbitrary Python (lambdas, pickles) is run."""
    return keras.saving.load_model(path, safe_mode=True, compile=False)
