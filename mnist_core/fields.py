"""One setting of a run: its kind, default, bounds and help (``Field``), and one value of it read from
text, checked against its bounds and written back as text.

``config.FIELDS`` is the table of every setting; this is what each entry of it means. A value from a
link, a CLI flag, a form or a stored run.json goes through ``coerce`` (after ``parse`` when it is
text), so no way in can skip a bound, and a bad value gets one sentence saying what is wrong."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class ConfigError(ValueError):
    """A setting is out of its bounds or of the wrong type. The message is one sentence."""


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # "int", "float", "bool", "choice" or "layers"
    default: Any
    help: str
    label: str
    lo: float | None = None
    hi: float | None = None
    choices: tuple[str, ...] = ()
    log_scale: bool = False
    zero_means_off: bool = False  # 0 is allowed besides [lo, hi] and switches the feature off
    lo_open: bool = False  # lo itself is excluded, as in lr in (0, 10]
    hi_open: bool = False  # hi itself is excluded, as in a variance share in (0, 1)
    since: int = 1  # 2: added after the reference runs; left out of the config hash while at its default


MAX_QUERY_VALUE = 200  # characters: a longer value in a link is rejected before parsing


def parse(f: Field, raw: Any) -> Any:
    """Text (from a URL or a CLI flag) to a Python value of the field's kind."""
    if not isinstance(raw, str):
        return raw
    if len(raw) > MAX_QUERY_VALUE:
        raise ConfigError(f"the value is {len(raw)} characters long, more than {MAX_QUERY_VALUE}.")
    text = raw.strip()
    if f.kind == "bool":
        low = text.lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off", ""):
            return False
        raise ConfigError(f"{text!r} is not true or false.")
    if f.kind == "layers":
        parts = [p for p in text.replace(",", "-").split("-")]
        try:
            return tuple(int(p) for p in parts)
        except ValueError:
            raise ConfigError(f"{text!r} is not hidden sizes like 300-100.") from None
    if f.kind == "int":
        try:
            return int(text)
        except ValueError:
            raise ConfigError(f"{text!r} is not a whole number.") from None
    if f.kind == "float":
        try:
            return float(text)
        except ValueError:
            raise ConfigError(f"{text!r} is not a number.") from None
    return text


def format_value(f: Field, value: Any) -> str:
    """A value as a link or a flag spells it, read back by ``parse``: 300-100, 1 or 0, 0.01."""
    if f.kind == "layers":
        return "-".join(map(str, value))
    if f.kind == "bool":
        return "1" if value else "0"
    if f.kind == "float":
        return f"{value:g}"
    return str(value)


def _number(f: Field, x: float) -> str:
    """A bound as people write it: 2147483647 for a whole-number field (not 2.14748e+09), 1e-05 or 10
    for a float one."""
    return str(int(x)) if f.kind in ("int", "layers") else f"{x:g}"


def bounds(f: Field) -> str:
    """The range as the help and the error sentences show it: [1, 500], (0, 10], 0 (off) or [1, 500]."""
    left, right = "(" if f.lo_open else "[", ")" if f.hi_open else "]"
    text = f"{left}{_number(f, f.lo)}, {_number(f, f.hi)}{right}"
    return f"0 (off) or {text}" if f.zero_means_off else text


def coerce(f: Field, value: Any) -> Any:
    """Check type and bounds of one field's value; return it in canonical form."""
    name = f.name
    if f.kind == "choice":
        if not isinstance(value, str) or value not in f.choices:
            raise ConfigError(f"{name} must be one of {', '.join(f.choices)}, not {value!r}.")
        return value
    if f.kind == "bool":
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false, not {value!r}.")
        return value
    if f.kind == "layers":
        if isinstance(value, (str, bytes)) or not hasattr(value, "__iter__"):
            raise ConfigError(f"{name} must be a list of 1 to 4 layer sizes, not {value!r}.")
        sizes = tuple(value)
        if not 1 <= len(sizes) <= 4:
            raise ConfigError(f"{name} must have 1 to 4 layers, not {len(sizes)}.")
        for s in sizes:
            if isinstance(s, bool) or not isinstance(s, int) or not f.lo <= s <= f.hi:
                raise ConfigError(f"Each hidden layer must have {_number(f, f.lo)} to {_number(f, f.hi)} "
                                  f"units, not {s!r}.")
        return sizes
    if f.kind == "int":
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(f"{name} must be a whole number, not {value!r}.")
        if f.zero_means_off and value == 0:
            return 0
        if not f.lo <= value <= f.hi:
            raise ConfigError(f"{name} must be in {bounds(f)}, not {value}.")
        return value
    if f.kind == "float":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
            raise ConfigError(f"{name} must be a finite number, not {value!r}.")
        value = float(value)
        if f.zero_means_off and value == 0:
            return 0.0
        too_low = value <= f.lo if f.lo_open else value < f.lo
        too_high = value >= f.hi if f.hi_open else value > f.hi
        if too_low or too_high:
            raise ConfigError(f"{name} must be in {bounds(f)}, not {value:g}.")
        return value
    raise AssertionError(f"unknown field kind {f.kind}")
