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


def outputs_probabilities(model: "keras.Model") -> bool:
    """Models saved by for_export end in a Softmax; older ones (before it) output logits."""
    return isinstance(model.layers[-1], keras.layers.Softmax)


def load_model(path) -> "keras.Model":
    """Load a saved .keras file with safe_mode on: no arbitrary Python (lambdas, pickles) is run."""
    return keras.saving.load_model(path, safe_mode=True, compile=False)
