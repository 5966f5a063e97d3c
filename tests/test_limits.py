"""The teacher's limits, read from the environment."""

import pytest

from mnist_core.config import RunConfig
from mnist_core.limits import LimitError, Limits


def test_limits_come_from_the_environment():
    env = {"MNIST_MAX_PARAMS": "1_000_000", "MNIST_MAX_EPOCHS": "10", "MNIST_MAX_RUN_SECONDS": "300",
           "MNIST_MAX_QUEUED_PER_USER": "2"}
    assert Limits.from_env(env) == Limits(1_000_000, 10, 300.0, 2)
    assert Limits.from_env(env).describe() == ("Limits on this server: at most 1,000,000 parameters, 10 epochs, "
                                               "5 min of training per run (then it is stopped, keeping its "
                                               "epochs), 2 waiting runs per browser.")


def test_three_waiting_runs_per_browser_by_default_on_a_class_server_only():
    assert Limits.from_env({"MNIST_TEACHER_PASSWORD": "x"}) == Limits(max_queued_per_user=3)
    assert Limits.from_env({}) == Limits() and Limits().describe() is None


@pytest.mark.parametrize("raw", ["lots", "-5", "0", "nan", "inf"])
def test_a_bad_value_turns_that_limit_off_with_a_warning(raw, caplog):
    assert Limits.from_env({"MNIST_MAX_PARAMS": raw}).max_params is None
    assert "MNIST_MAX_PARAMS" in caplog.text


def test_the_notebook_network_fits_a_modest_limit_and_a_huge_one_does_not():
    limits = Limits(max_params=300_000, max_epochs=60)
    limits.check(RunConfig(epochs=60))  # 784-300-100-10: 266,610 parameters
    with pytest.raises(LimitError, match="parameters"):
        limits.check(RunConfig(hidden=(1568, 500)))
