import json

import numpy as np
import pytest

from mnist_core.config import ConfigError, RunConfig
from mnist_core.model import build_model, build_optimizer, for_export, load_model, outputs_probabilities
from mnist_core.tf_env import keras


@pytest.mark.parametrize("config", [
    RunConfig(),
    RunConfig(hidden=(1568, 500), batch_norm=True),
    RunConfig(hidden=(64,), pca=154, activation="selu"),
    RunConfig(hidden=(8, 8, 8, 8), batch_norm=True, activation="gelu"),
])
def test_param_count_matches_keras(config):
    model = build_model(config, config.input_size())
    assert model.count_params() == config.param_count()


def test_layer_order_is_dense_bn_activation():
    model = build_model(RunConfig(batch_norm=True, activation="elu"), 784)
    names = [layer.name for layer in model.layers]
    assert names == ["pixels", "dense_1", "bn_1", "act_1", "dense_2", "bn_2", "act_2", "logits"]
    assert model.get_layer("bn_1").momentum == pytest.approx(0.9)
    assert model.get_layer("dense_1").use_bias is False  # BN's beta replaces the bias


@pytest.mark.parametrize("name, cls, extra", [
    ("sgd", keras.optimizers.SGD, {"momentum": 0.0}), ("momentum", keras.optimizers.SGD, {"momentum": 0.9}),
    ("nesterov", keras.optimizers.SGD, {"nesterov": True}), ("adagrad", keras.optimizers.Adagrad, {}),
    ("rmsprop", keras.optimizers.RMSprop, {}), ("adam", keras.optimizers.Adam, {}),
])
def test_optimizers(name, cls, extra):
    opt = build_optimizer(RunConfig(optimizer=name, learning_rate=0.05))
    assert isinstance(opt, cls) and float(opt.learning_rate) == pytest.approx(0.05)
    for k, v in extra.items():
        assert getattr(opt, k) == v


def test_batch_norm_uses_batch_statistics_in_training_and_moving_averages_in_evaluation(small_mnist):
    model = build_model(RunConfig(batch_norm=True), 784)
    x = small_mnist.x_train[:70]
    for _ in range(20):  # let the moving averages move away from their initial 0 / 1
        model(x, training=True)
    alone_train = model(x[:1], training=True).numpy()
    in_batch_train = model(x, training=True).numpy()[:1]
    # In training mode an image's output depends on the other images of its batch...
    assert not np.allclose(alone_train, in_batch_train, atol=1e-3)
    # ...in evaluation mode it does not: the stored moving statistics are used.
    alone_eval = model(x[:1], training=False).numpy()
    in_batch_eval = model(x, training=False).numpy()[:1]
    np.testing.assert_allclose(alone_eval, in_batch_eval, rtol=1e-4, atol=1e-5)
    assert float(np.abs(model.get_layer("bn_1").moving_mean.numpy()).max()) > 0


def test_same_seed_same_initial_weights_other_seed_other_weights():
    a = build_model(RunConfig(seed=1), 784).get_weights()[0]
    b = build_model(RunConfig(seed=1), 784).get_weights()[0]
    c = build_model(RunConfig(seed=2), 784).get_weights()[0]
    assert np.array_equal(a, b) and not np.array_equal(a, c)


def test_exported_model_is_pca_then_the_net_then_softmax_and_loads_in_plain_keras(tmp_path, small_mnist):
    from sklearn.decomposition import PCA

    pca = PCA(n_components=30).fit(small_mnist.x_train)
    net = build_model(RunConfig(hidden=(16,), pca=30), 30)
    full = for_export(net, RunConfig(hidden=(16,), pca=30, optimizer="adam"), pca)
    x = small_mnist.x_test[:50]
    expected = keras.ops.softmax(net(pca.transform(x).astype("float32"))).numpy()
    np.testing.assert_allclose(full(x).numpy(), expected, rtol=1e-4, atol=1e-5)
    assert outputs_probabilities(full) and not outputs_probabilities(net)
    full.save(tmp_path / "m.keras")
    plain = keras.saving.load_model(tmp_path / "m.keras")  # Keras' defaults: safe mode, compiled
    np.testing.assert_allclose(plain(x).numpy(), expected, rtol=1e-4, atol=1e-5)
    assert isinstance(plain.optimizer, keras.optimizers.Adam)
    scores = plain.evaluate(x, small_mnist.y_test[:50], verbose=0, return_dict=True)
    assert set(scores) == {"loss", "accuracy"}
    assert scores["accuracy"] == pytest.approx(float((expected.argmax(1) == small_mnist.y_test[:50]).mean()))
    ours = load_model(tmp_path / "m.keras")  # the project's loader: safe mode, not compiled
    np.testing.assert_allclose(ours(x).numpy(), expected, rtol=1e-4, atol=1e-5)


# --- initialisers and dropout ------------------------------------------------------------------------
def test_initialiser_choice_applies_to_every_layer_and_auto_keeps_the_activation_rule():
    zeros = build_model(RunConfig(init="zeros"), 784)
    assert all(not np.any(w) for w in zeros.get_weights())
    he = build_model(RunConfig(init="he_uniform", activation="tanh"), 784)
    kernel = he.get_layer("dense_1").kernel.numpy()
    assert np.abs(kernel).max() <= np.sqrt(6 / 784) + 1e-6  # he_uniform's limit
    assert kernel.std() == pytest.approx(np.sqrt(2 / 784), rel=0.05)
    auto = build_model(RunConfig(activation="tanh"), 784)  # auto: Glorot uniform for tanh
    assert np.abs(auto.get_layer("dense_1").kernel.numpy()).max() <= np.sqrt(6 / (784 + 300)) + 1e-6


def test_dropout_zeroes_a_share_of_units_in_training_and_none_in_evaluation(small_mnist):
    config = RunConfig(dropout=0.3, hidden=(300, 100))
    model = build_model(config, 784)
    x = small_mnist.x_train[:500]
    inner = keras.Model(model.input, [model.get_layer("act_1").output, model.get_layer("drop_1").output])
    act, dropped = (t.numpy() for t in inner(x, training=True))
    alive = act > 0
    zeroed = (dropped[alive] == 0).mean()
    assert zeroed == pytest.approx(0.3, abs=0.02)
    kept = dropped[alive] != 0
    np.testing.assert_allclose(dropped[alive][kept], act[alive][kept] / 0.7, rtol=1e-5)  # expectation kept
    again = inner(x, training=True)[1].numpy()
    assert (again != dropped).any()  # a new mask every step
    # Evaluation never drops: the same weights without dropout give the same logits.
    plain = build_model(config.replace(dropout=0.0), 784)
    np.testing.assert_array_equal(model(x, training=False).numpy(), plain(x, training=False).numpy())


def test_selu_uses_alpha_dropout_which_keeps_mean_and_variance():
    from mnist_core.model import RateDropout

    layer = RateDropout(0.2, alpha=True, seed=1)
    x = np.random.default_rng(0).standard_normal((400, 500)).astype("float32")
    y = layer(x, training=True).numpy()
    assert abs(y.mean()) < 0.02 and y.std() == pytest.approx(1.0, abs=0.03)
    values, counts = np.unique(y, return_counts=True)
    share = counts.max() / y.size  # dropped units all take one value (SELU's saturation, corrected), not 0
    assert share == pytest.approx(0.2, abs=0.01) and values[counts.argmax()] != 0
    assert build_model(RunConfig(activation="selu", dropout=0.2), 784).get_layer("drop_1").alpha


def test_a_model_with_dropout_is_saved_with_built_in_layers_only(tmp_path, small_mnist):
    config = RunConfig(dropout=0.25)
    model = build_model(config, 784)
    exported = for_export(model, config)
    exported.save(tmp_path / "m.keras")
    assert "RateDropout" not in json.dumps(exported.get_config())  # plain Keras can load it
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    x = small_mnist.x_test[:50]
    expected = keras.ops.softmax(model(x, training=False)).numpy()
    np.testing.assert_allclose(loaded(x).numpy(), expected, rtol=1e-5, atol=1e-6)


def test_the_notebooks_batch_norm_evaluation_matches_a_hand_computation():
    """bn_eval=batch: each BN layer normalises with the evaluated batch's own mean and variance, as the
    notebook's training=True did, without moving the stored averages or dropping anything."""
    from mnist_core.model import batch_statistics_logits

    config = RunConfig(hidden=(5,), batch_norm=True, bn_eval="batch", dropout=0.5, activation="elu")
    model = build_model(config, 4)
    bn = model.get_layer("bn_1")
    bn.gamma.assign([1.0, 2.0, 0.5, 1.0, 3.0])
    bn.beta.assign([0.0, 1.0, -1.0, 0.5, 0.0])
    bn.moving_mean.assign([5.0] * 5)  # far from the batch's: the two evaluations must differ
    x = np.array([[0.1, 0.9, 0.3, 0.0], [0.5, 0.2, 0.8, 1.0], [0.7, 0.7, 0.1, 0.4]], np.float32)

    # By hand: dense (no bias with BN), per-unit batch mean and biased variance, scale and shift, ELU,
    # dropout skipped, then the output layer.
    kernel = model.get_layer("dense_1").kernel.numpy()
    z = x @ kernel
    normed = (z - z.mean(axis=0)) / np.sqrt(z.var(axis=0) + bn.epsilon) * bn.gamma.numpy() + bn.beta.numpy()
    hidden = np.where(normed > 0, normed, np.expm1(normed))
    out = model.get_layer("logits")
    expected = hidden @ out.kernel.numpy() + out.bias.numpy()

    got = batch_statistics_logits(model, x).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-5)
    assert not np.allclose(got, model(x, training=False).numpy(), atol=1e-2)  # moving averages: other numbers
    np.testing.assert_allclose(bn.moving_mean.numpy(), [5.0] * 5)  # untouched
    np.testing.assert_allclose(batch_statistics_logits(model, x).numpy(), got)  # nothing random (no dropout)


def test_bn_eval_is_a_setting_of_batch_norm_only():
    assert RunConfig(batch_norm=True, bn_eval="batch").label == "300-100 relu BN(batch-eval) sgd"
    with pytest.raises(ConfigError, match="turn batch_norm on"):  # without BN nothing evaluates differently
        RunConfig(bn_eval="batch")
    assert RunConfig(batch_norm=True, bn_eval="batch").config_hash != RunConfig(batch_norm=True).config_hash
