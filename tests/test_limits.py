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


def test_epochs_up_to_the_limit_are_allowed_and_one_more_is_refused_with_how_to_fix_it():
    limits = Limits(max_epochs=10)
    limits.check(RunConfig(epochs=10))
    with pytest.raises(LimitError) as refused:
        limits.check(RunConfig(epochs=11))
    assert str(refused.value) == ("11 epochs is more than this server allows for one run (10): "
                                  "lower Epochs to 10 or fewer.")


def test_a_network_at_the_parameter_limit_is_allowed_and_the_refusal_counts_its_parameters():
    limits = Limits(max_params=266_610)
    limits.check(RunConfig())  # 784-300-100-10: exactly 266,610 parameters
    with pytest.raises(LimitError) as refused:
        limits.check(RunConfig(hidden=(301, 100)))
    assert str(refused.value) == ("This network has 267,495 parameters, more than this server allows for one run "
                                  "(266,610): use fewer or smaller hidden layers or PCA.")
    # With PCA on, the advice is only the layers.
    with pytest.raises(LimitError, match=r"hidden layers\.$"):
        Limits(max_params=1000).check(RunConfig(pca=50))


def test_pca_by_variance_is_counted_on_the_components_it_kept_or_all_pixels_before_fitting():
    config = RunConfig(pca_variance=0.95)
    limits = Limits(max_params=100_000)
    with pytest.raises(LimitError, match="266,610 parameters"):  # not fitted yet: 784 inputs, an upper bound
        limits.check(config)
    limits.check(config, pca_components=154)  # 154-300-100-10: 77,610 parameters


def test_no_limit_set_allows_anything():
    Limits().check(RunConfig(hidden=(4096, 4096), epochs=500))
    assert not Limits().any and Limits(max_run_seconds=60).any


@pytest.mark.parametrize("seconds, text", [(60, "1 min"), (3600, "60 min"), (90, "90 s"), (30, "30 s"),
                                           (0.5, "0.5 s")])
def test_a_duration_reads_in_minutes_when_it_is_whole_minutes(seconds, text):
    from mnist_core.limits import duration

    assert duration(seconds) == text


def test_numbers_are_read_as_a_teacher_writes_them_and_a_blank_one_is_no_limit(caplog):
    env = {"MNIST_MAX_PARAMS": "1,000,000", "MNIST_MAX_EPOCHS": " 10 ", "MNIST_MAX_RUN_SECONDS": "",
           "MNIST_MAX_QUEUED_PER_USER": "   "}
    assert Limits.from_env(env) == Limits(max_params=1_000_000, max_epochs=10)
    assert caplog.text == ""  # a blank value is no limit, not a mistake to warn about


def test_a_teacher_can_lift_the_default_waiting_runs_limit_by_setting_it_blank():
    env = {"MNIST_TEACHER_PASSWORD": "x", "MNIST_MAX_QUEUED_PER_USER": ""}
    assert Limits.from_env(env).max_queued_per_user is None


def test_a_limit_of_one_is_a_limit_and_the_warning_names_the_bad_value(caplog):
    assert Limits.from_env({"MNIST_MAX_EPOCHS": "1"}).max_epochs == 1
    Limits.from_env({"MNIST_MAX_EPOCHS": "lots"})
    assert caplog.messages == ["MNIST_MAX_EPOCHS='lots' is not a positive number; that limit is off"]


def test_limits_are_read_from_the_servers_environment(monkeypatch):
    monkeypatch.setenv("MNIST_MAX_EPOCHS", "7")
    assert Limits.from_env().max_epochs == 7


def test_a_pca_network_is_counted_on_its_components():
    Limits(max_params=50_000).check(RunConfig(pca=50))  # 50-300-100-10: 46,410 parameters, not 784 inputs
