import json
import subprocess
import sys

import pytest

from mnist_core.config import FIELDS, ConfigError, RunConfig


def test_defaults_are_the_notebooks():
    c = RunConfig()
    assert (c.hidden, c.activation, c.batch_norm, c.uses_pca) == ((300, 100), "relu", False, False)
    assert (c.optimizer, c.learning_rate, c.batch_size) == ("sgd", 0.01, 70)
    assert c.label == "300-100 relu sgd"
    # 784*300+300 + 300*100+100 + 100*10+10
    assert c.param_count() == 266_610


@pytest.mark.parametrize("changes, fragment", [
    ({"hidden": ()}, "1 to 4 layers"),
    ({"hidden": (10, 10, 10, 10, 10)}, "1 to 4 layers"),
    ({"hidden": (0,)}, "1 to 4096 units"),
    ({"hidden": (4097,)}, "1 to 4096 units"),
    ({"hidden": (1.5,)}, "units"),
    ({"learning_rate": 0.0}, "learning_rate must be in (0, 10]"),
    ({"learning_rate": 10.5}, "learning_rate"),
    ({"learning_rate": float("nan")}, "finite"),
    ({"batch_size": 0}, "batch_size must be in [1, 60000]"),
    ({"epochs": 501}, "epochs must be in [1, 500]"),
    ({"pca": 784}, "pca must be in 0 (off) or [1, 783]"),
    ({"pca_variance": 1.0}, "pca_variance must be in 0 (off) or (0, 1)"),
    ({"pca": 50, "pca_variance": 0.9}, "not both"),
    ({"activation": "swish"}, "activation must be one of relu, elu"),
    ({"optimizer": "lbfgs"}, "optimizer must be one of"),
    ({"batch_norm": "yes"}, "true or false"),
    ({"train_examples": 100, "batch_size": 200}, "larger than train_examples"),
    ({"seed": -1}, "seed"),
])
def test_bounds_give_one_clear_sentence(changes, fragment):
    with pytest.raises(ConfigError) as e:
        RunConfig(**changes)
    assert fragment in str(e.value)
    assert "\n" not in str(e.value)


def test_edges_are_allowed():
    RunConfig(hidden=(1,), learning_rate=10.0, batch_size=1, epochs=500, pca=783)
    RunConfig(hidden=(4096, 4096, 4096, 4096), pca_variance=0.95, epochs=1)


def test_label_names_what_differs():
    c = RunConfig(activation="elu", batch_norm=True, pca=154, optimizer="nesterov")
    assert c.label == "300-100 elu BN pca154 nesterov"
    assert RunConfig(learning_rate=0.1, batch_size=128, train_examples=10000).label == \
        "300-100 relu sgd lr0.1 b128 n10000"
    assert RunConfig(dataset="fashion_mnist").label.startswith("fashion ")


def test_hash_is_stable_across_processes_and_sensitive_to_settings():
    c = RunConfig(hidden=(100, 30), seed=7)
    code = "from mnist_core.config import RunConfig; print(RunConfig(hidden=(100, 30), seed=7).config_hash)"
    other = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONHASHSEED": "123", "PATH": ""}, cwd=".").stdout.strip()
    assert other == c.config_hash
    assert c.replace(seed=8).config_hash != c.config_hash
    assert c.replace(epochs=5).settings_hash() == c.settings_hash()


def test_json_round_trip_and_strictness():
    c = RunConfig(hidden=(500, 150), pca_variance=0.95, optimizer="adam")
    again = RunConfig.from_dict(json.loads(json.dumps(c.to_dict())))
    assert again == c
    with pytest.raises(ConfigError, match="Unknown setting 'hiden'"):
        RunConfig.from_dict({"hiden": [1]})


def test_query_round_trip_is_short():
    c = RunConfig(hidden=(1568, 500), batch_norm=True, learning_rate=0.05)
    q = c.to_query()
    assert q == {"hidden": "1568-500", "batch_norm": "1", "learning_rate": "0.05"}
    assert RunConfig.from_query(q) == (c, [])


@pytest.mark.parametrize("params, bad", [
    ({"hidden": "300-abc"}, "hidden"),
    ({"hidden": "99999"}, "hidden"),
    ({"learning_rate": "1e9"}, "learning_rate"),
    ({"epochs": "-3"}, "epochs"),
    ({"batch_norm": "maybe"}, "batch_norm"),
    ({"activation": "<script>alert(1)</script>"}, "activation"),
    ({"epochs": "9" * 5000}, "epochs"),
])
def test_bad_query_values_fall_back_to_defaults_with_a_warning(params, bad):
    config, warnings = RunConfig.from_query({"seed": "7", **params})
    assert len(warnings) == 1 and bad in warnings[0]
    assert getattr(config, bad) == getattr(RunConfig(), bad)
    assert config.seed == 7  # the good parameters of the same link still apply


def test_repeated_query_values_take_the_last_and_unknown_ones_are_ignored():
    config, warnings = RunConfig.from_query({"epochs": ["3", "5"], "rm -rf": "x"})
    assert config.epochs == 5 and warnings == []


def test_every_field_has_help_and_a_default_that_validates():
    for f in FIELDS:
        assert f.help and f.label
    assert RunConfig(**{f.name: f.default for f in FIELDS}) == RunConfig()


def test_hparams_are_flat_primitives():
    hp = RunConfig().to_hparams()
    assert hp["hidden"] == "300-100" and hp["hidden_layers"] == 2
    assert all(isinstance(v, (str, int, float, bool)) for v in hp.values())


# --- the toolkit's fields ----------------------------------------------------------------------------
@pytest.mark.parametrize("changes, fragment", [
    (dict(dropout=0.95), "dropout must be in [0, 0.9]"),
    (dict(l2=-1e-4), "l2 must be in 0 (off) or (0, 1]"),
    (dict(clip_norm=1e3), "clip_norm must be in 0 (off) or (0, 100]"),
    (dict(schedule="warm"), "schedule must be one of constant, exponential"),
    (dict(init="ones"), "init must be one of auto, he_normal"),
    (dict(decay_rate=1.0), "decay_rate must be in (0, 1)"),
    (dict(patience=3), "Early stopping (patience) watches the validation loss: set validation"),
    (dict(schedule="plateau"), "The plateau schedule watches the validation loss"),
    (dict(train_examples=1000, validation=950), "minus the 950 validation examples"),
])
def test_toolkit_bounds_give_one_clear_sentence(changes, fragment):
    with pytest.raises(ConfigError) as e:
        RunConfig(**changes)
    assert fragment in str(e.value) and "\n" not in str(e.value)


def test_an_old_run_json_without_the_toolkit_fields_loads_with_defaults_and_its_hash():
    import json
    from pathlib import Path

    shipped = sorted(Path(__file__).parent.parent.glob("cached_runs/reference/*/run.json"))
    assert shipped, "the reference runs ship with the project"
    from mnist_core.config import FIELDS

    old = 0
    for path in shipped:
        data = json.loads(path.read_text())
        config = RunConfig.from_dict(data["config"])
        assert config.config_hash == data["config_hash"]  # sweeps still find them as done
        later = {f.name for f in FIELDS if f.since > 1}
        if all(config.to_dict()[k] == RunConfig().to_dict()[k] for k in later):
            # As it was written before the toolkit: without those fields at all.
            before = RunConfig.from_dict({k: v for k, v in data["config"].items() if k not in later})
            assert before == config and before.config_hash == data["config_hash"]
            assert before.dropout == 0 and before.schedule == "constant" and before.init == "auto"
            old += 1
    assert old >= 10
    assert RunConfig(dropout=0.2).config_hash != RunConfig().config_hash


def test_toolkit_fields_round_trip_through_link_and_label():
    config = RunConfig(dropout=0.2, l2=1e-4, clip_norm=1.0, schedule="cosine", validation=5000, patience=3,
                       init="he_uniform")
    back, warnings = RunConfig.from_query(config.to_query())
    assert back == config and not warnings
    assert config.steps_per_epoch == 55000 // 70
    assert "drop0.2" in config.label and "cosine" in config.label and "patience3" in config.label


def test_integer_bounds_read_as_integers_in_messages():
    # Issue 10: the seed's bound showed as 2.14748e+09.
    with pytest.raises(ConfigError, match=r"seed must be in \[0, 2147483647\], not -1\."):
        RunConfig(seed=-1)
