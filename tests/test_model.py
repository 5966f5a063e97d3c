import numpy as np
import pytest

from mnist_core.config import RunConfig
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

