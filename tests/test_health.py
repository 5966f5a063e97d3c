import numpy as np

from mnist_core.config import RunConfig
from mnist_core.health import HealthProbe
from mnist_core.model import build_model
from mnist_core.train import train


def test_every_epoch_records_layer_health(small_mnist):
    r = train(RunConfig(hidden=(64, 32, 16), train_examples=2100, epochs=2, learning_rate=0.1), dataset=small_mnist)
    for h in r.history:
        assert len(h["dead_units"]) == 3 and all(0 <= d <= 1 for d in h["dead_units"])
        assert len(h["grad_norm"]) == 4 and all(g > 0 for g in h["grad_norm"])


def test_a_layer_pushed_negative_is_all_dead_and_gets_no_gradient(small_mnist):
    model = build_model(RunConfig(hidden=(32, 16)), 784)
    dense = model.get_layer("dense_1")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, np.full_like(bias, -100.0)])  # every unit's input is negative: dead ReLUs
    healthy = HealthProbe(build_model(RunConfig(hidden=(32, 16)), 784), 2, False, small_mnist.x_train,
                          small_mnist.y_train)()
    health = HealthProbe(model, 2, False, small_mnist.x_train, small_mnist.y_train)()
    assert health["dead_units"][0] == 1.0 and healthy["dead_units"][0] < 0.5
    assert health["grad_norm"][0] == 0.0 < healthy["grad_norm"][0]  # nothing flows back to layer 1


def test_elu_units_still_count_as_never_activating_when_always_negative(small_mnist):
    model = build_model(RunConfig(hidden=(8,), activation="elu"), 784)
    dense = model.get_layer("dense_1")
    kernel, bias = dense.get_weights()
    dense.set_weights([kernel, np.full_like(bias, -100.0)])
    health = HealthProbe(model, 1, False, small_mnist.x_train, small_mnist.y_train)()
    assert health["dead_units"] == [1.0]
