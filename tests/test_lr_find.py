import numpy as np

from mnist_core.config import RunConfig
from mnist_core.lr_find import lr_range_test, suggest


def test_suggestion_is_where_the_loss_falls_fastest():
    rates = list(np.geomspace(1e-5, 10, 200))
    log_r = np.log10(rates)
    loss = 2.3 - 2.0 / (1 + np.exp(-(log_r + 2) * 3))  # falls fastest at 10^-2
    assert abs(np.log10(suggest(rates, list(loss))) + 2) < 0.1


def test_range_test_on_real_digits(small_mnist):
    result = lr_range_test(RunConfig(train_examples=2100), small_mnist, steps=200)
    rates, losses = result["rates"], result["losses"]
    assert rates == sorted(rates) and rates[0] == 1e-5 and len(losses) == len(rates)
    assert len(rates) < 200 or losses[-1] > min(losses)  # it ran until the loss exploded or to the end
    assert 1e-4 < result["suggestion"] < 5
    assert min(losses) < losses[0] - 0.5  # somewhere along the way it learned
