"""Every field of RunConfig's table travels through a link, a CLI-style text value and run.json: a
parser that forgets one field (say batch_size) is caught here, including fields added later."""

import json

import pytest

from mnist_core.config import FIELDS, ConfigError, RunConfig


def _candidates(f):
    """Valid-looking values different from the default."""
    if f.kind == "bool":
        return [not f.default]
    if f.kind == "choice":
        return [c for c in f.choices if c != f.default]
    if f.kind == "layers":
        return [(64, 32, 16)]
    if f.kind == "int":
        lo, hi = int(f.lo), int(f.hi)
        return [v for v in (lo + 1, (lo + hi) // 2, hi, lo) if v != f.default]
    return [v for v in ((f.lo + f.hi) / 2, f.lo + (f.hi - f.lo) / 4, f.hi) if v != f.default]


def _settings_with(f) -> dict:
    """Non-default settings that include ``f``: alone if it may be, else with the one other setting it
    needs (patience needs a validation split)."""
    for value in _candidates(f):
        for extra in [{}] + [{g.name: w} for g in FIELDS if g is not f for w in _candidates(g)]:
            settings = {f.name: value, **extra}
            try:
                RunConfig(**settings)
                return settings
            except ConfigError:
                continue
    raise AssertionError(f"no non-default value of {f.name} is valid")


@pytest.mark.parametrize("f", FIELDS, ids=lambda f: f.name)
def test_each_field_survives_a_link_and_run_json(f):
    settings = _settings_with(f)
    config = RunConfig(**settings)
    query = config.to_query()
    assert set(query) == set(settings)  # only what differs from the defaults goes into the link
    assert RunConfig.from_query(query) == (config, [])
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.config_hash != RunConfig().config_hash


@pytest.mark.parametrize("text, value", [("1", True), ("TRUE", True), ("Yes", True), (" on ", True),
                                         ("0", False), ("false", False), ("NO", False), ("off", False),
                                         ("", False)])
def test_a_link_spells_on_and_off_in_the_usual_ways(text, value):
    assert RunConfig.from_query({"batch_norm": text}) == (RunConfig(batch_norm=value), [])


def test_link_values_are_read_as_people_write_them():
    assert RunConfig.from_query({"hidden": "300,100"})[0].hidden == (300, 100)  # commas as well as dashes
    config, warnings = RunConfig.from_query({"hidden": ["64", "32"]})  # hidden= twice: not read as one value
    assert config.hidden == (300, 100) and len(warnings) == 1 and "hidden" in warnings[0]
    assert RunConfig.from_query({"epochs": " 7 "})[0].epochs == 7
    edge = "1" * 200  # the longest value read: parsed (and then out of range), not cut off
    assert "more than 200" not in RunConfig.from_query({"epochs": edge})[1][0]
    assert "more than 200" in RunConfig.from_query({"epochs": edge + "1"})[1][0]


@pytest.mark.parametrize("params, message", [
    ({"hidden": "300-x"}, "Ignored the link's hidden: '300-x' is not hidden sizes like 300-100."),
    ({"epochs": "ten"}, "Ignored the link's epochs: 'ten' is not a whole number."),
    ({"learning_rate": "fast"}, "Ignored the link's learning_rate: 'fast' is not a number."),
    ({"batch_norm": "maybe"}, "Ignored the link's batch_norm: 'maybe' is not true or false."),
    ({"pca": "50", "pca_variance": "0.9"}, "Ignored the link's settings: Choose PCA by component count or by "
                                           "variance kept, not both: set pca or pca_variance to 0."),
])
def test_a_bad_link_says_exactly_what_was_ignored(params, message):
    config, warnings = RunConfig.from_query(params)
    assert warnings == [message] and config == RunConfig()


def test_a_seed_group_counts_up_from_the_seed_within_its_bound():
    assert RunConfig().seed_group(1, "x") == (None, [RunConfig()])
    assert [c.seed for c in RunConfig().seed_group(2, "x")[1]] == [42, 43]  # two seeds are already a group
    group, configs = RunConfig(seed=5).seed_group(3, "stamp")
    assert group == f"{RunConfig(seed=5).settings_hash()}-stamp" and [c.seed for c in configs] == [5, 6, 7]
    top = 2**31 - 1
    assert [c.seed for c in RunConfig(seed=top - 1).seed_group(4, "s")[1]] == [top - 1, top]


def test_a_repeated_parameter_takes_its_last_value_and_an_empty_one_its_default():
    assert RunConfig.from_query({"epochs": ["3", "4", "5"]}) == (RunConfig(epochs=5), [])
    config, warnings = RunConfig.from_query({"epochs": []})
    assert config == RunConfig() and len(warnings) == 1 and "epochs" in warnings[0]


def test_a_link_names_settings_to_hide_or_lock_and_says_what_it_ignored():
    from mnist_core.config import field_names

    names, warnings = field_names(" optimizer,batch_norm,,optimizer ", "hide")
    assert names == ("optimizer", "batch_norm") and warnings == []  # spaces, blanks and repeats do not matter
    assert field_names(["epochs", "seed"], "lock") == (("epochs", "seed"), [])  # a parameter given twice
    names, warnings = field_names("epochs,speed,colour,size,shape", "lock")
    assert names == ("epochs",) and len(warnings) == 3  # at most three sentences about the rest
    settings = ", ".join(f.name for f in FIELDS)
    assert warnings[0] == f"Ignored 'speed' in the link's lock: it is not a setting (settings: {settings})."
    long = "x" * 70
    assert field_names(long, "hide")[1][0].startswith(f"Ignored {repr(long)[:60]} in")  # cut to 60 characters


def test_a_too_long_list_of_names_is_ignored_whole():
    from mnist_core.config import MAX_QUERY_VALUE, field_names

    at_most = "epochs".ljust(MAX_QUERY_VALUE)
    assert field_names(at_most, "hide") == (("epochs",), [])
    assert field_names(at_most + " ", "hide")[0] == ()
    names, warnings = field_names("epochs," * 40, "hide")
    assert names == () and warnings == [f"Ignored the link's hide: the value is 280 characters long, more than "
                                        f"{MAX_QUERY_VALUE}."]
