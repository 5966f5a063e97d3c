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
