"""Every field of RunConfig's table travels through a link, a CLI-style text value and run.json: a
parser that forgets one field (say batch_size) is caught here, including fields added later."""

import json

import pytest

from mnist_core.config import FIELDS, ConfigError, RunConfig


def _other_value(f):
    """A valid value different from the default, for the field alone."""
    if f.kind == "bool":
        candidates = [not f.default]
    elif f.kind == "choice":
        candidates = [c for c in f.choices if c != f.default]
    elif f.kind == "layers":
        candidates = [(64, 32, 16)]
    elif f.kind == "int":
        lo, hi = int(f.lo), int(f.hi)
        candidates = [v for v in (lo + 1, (lo + hi) // 2, hi, lo) if v != f.default]
    else:
        lo, hi = f.lo, f.hi
        candidates = [v for v in ((lo + hi) / 2, lo + (hi - lo) / 4, hi) if v != f.default]
    for value in candidates:
        try:
            RunConfig(**{f.name: value})
            return value
        except ConfigError:
            continue
    pytest.skip(f"no value of {f.name} is valid on its own")


@pytest.mark.parametrize("f", FIELDS, ids=lambda f: f.name)
def test_each_field_survives_a_link_and_run_json(f):
    config = RunConfig(**{f.name: _other_value(f)})
    query = config.to_query()
    assert list(query) == [f.name]  # only what differs from the defaults goes into the link
    assert RunConfig.from_query(query) == (config, [])
    assert RunConfig.from_dict(json.loads(json.dumps(config.to_dict()))) == config
    assert config.config_hash != RunConfig().config_hash
