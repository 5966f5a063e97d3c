"""The shape of run.json: one JSON Schema for every field a page, the CLI or a bench reads.

The store checks each record against it when reading, so a reader never meets a field of the wrong
type: a run.json that does not match is skipped with a one-line reason (as an unreadable one is), and
no page can crash on it. Its settings are checked by RunConfig itself (the field table in config.py),
so a bound is declared once. Fields a reader does not know are allowed: newer versions may add some.

The schema is JSON Schema, compiled to Python once by ``fastjsonschema`` (about 20 times faster than
the ``jsonschema`` package, which matters for a store of hundreds of runs). Draft 4's meaning of
"integer" is the one wanted: a whole number without a fraction (1, not 1.0 or true), because indices
and counts are used as such. NaN and infinities are not JSON and are refused before this (store.py).
"""

from __future__ import annotations

from typing import Any

import fastjsonschema

from . import access, curves
from .config import ConfigError, RunConfig

STATUSES = ("queued", "running", "finished", "stopped", "diverged", "interrupted", "failed")
TEST_IMAGES = 10_000  # MNIST and Fashion-MNIST both have 10,000 test images
MAX_TEXT = 2_000  # characters of any text field: names, tags and reasons are short


def _nullable(schema: dict) -> dict:
    """The same, or null. (Keywords such as "properties" apply only to values of their type.)"""
    return {**schema, "type": [schema["type"], "null"]}


TEXT = {"type": "string", "maxLength": MAX_TEXT}
NUMBER = {"type": "number"}
COUNT = {"type": "integer", "minimum": 0, "maximum": 2**53}
DIGIT = {"type": "integer", "minimum": 0, "maximum": 9}
NUMBERS = {"type": "array", "items": NUMBER}
EPOCH = {"type": "integer", "minimum": 1, "maximum": 1_000_000}

_MILESTONE = _nullable({"type": "object", "required": ["epoch", "train_seconds"],
                        "properties": {"epoch": EPOCH, "train_seconds": NUMBER}})

_EPOCH = {
    "type": "object",
    "required": list(curves.HISTORY_KEYS),
    "properties": {
        **{key: NUMBER for key in curves.HISTORY_KEYS},
        "epoch": EPOCH,
        "dead_units": _nullable(NUMBERS), "grad_norm": _nullable(NUMBERS),
        **{key: NUMBER for key in curves.OPTIONAL_KEYS},  # learning_rate, val_loss, val_accuracy
    },
}

_ANALYSIS = {
    "type": "object",
    "required": ["confusion", "per_class_accuracy", "misclassified_total", "misclassified"],
    "properties": {
        "accuracy": NUMBER,
        "confusion": {"type": "array", "minItems": 10, "maxItems": 10,
                      "items": {"type": "array", "minItems": 10, "maxItems": 10, "items": COUNT}},
        "per_class_accuracy": {"type": "array", "minItems": 10, "maxItems": 10, "items": NUMBER},
        "misclassified_total": COUNT,
        "misclassified": {"type": "array", "items": {
            "type": "object", "required": ["index", "true", "pred", "confidence"],
            "properties": {"index": {"type": "integer", "minimum": 0, "maximum": TEST_IMAGES - 1},
                           "true": DIGIT, "pred": DIGIT, "confidence": NUMBER,
                           "top3": {"type": "array", "items": DIGIT}}}},
    },
}

SCHEMA: dict[str, Any] = {
    "$schema": "http://json-schema.org/draft-04/schema#",
    "title": "run.json",
    "type": "object",
    "required": ["status", "config"],
    "properties": {
        "schema": COUNT,
        "run_id": TEXT,
        "name": _nullable(TEXT), "label": _nullable(TEXT), "group": _nullable(TEXT), "reason": _nullable(TEXT),
        "tags": {"type": "array", "maxItems": 100, "items": TEXT},
        "status": {"enum": list(STATUSES)},
        "config": {"type": "object"},  # its fields: RunConfig.from_dict, below
        "config_hash": TEXT, "settings_hash": TEXT, "source": _nullable(TEXT),
        **{key: _nullable(TEXT) for key in ("created", "updated", "started", "ended")},
        "owned_by": _nullable(TEXT),  # the browser that started it: checked by access.valid_owner below
        "owner": _nullable({"type": "object", "properties": {"pid": {"type": "integer"}, "host": TEXT,
                                                              "start": _nullable(TEXT)}}),
        "environment": _nullable({"type": "object", "additionalProperties": {
            "type": ["string", "number", "boolean", "null"]}}),
        "param_count": _nullable(COUNT),
        "pca": _nullable({"type": "object", "required": ["components", "explained_variance", "fit_seconds"],
                          "properties": {"components": {"type": "integer", "minimum": 1},
                                         "explained_variance": NUMBER, "fit_seconds": NUMBER,
                                         "cached": {"type": "boolean"}}}),
        "setup_seconds": _nullable(NUMBER), "compile_seconds": _nullable(NUMBER),
        "history": {"type": "array", "items": _EPOCH},
        "milestones": {"type": "object", "properties": {"97": _MILESTONE, "98": _MILESTONE}},
        "best_epoch": _nullable(EPOCH),  # with early stopping: the epoch whose weights the model kept
        "best_test_accuracy": _nullable(NUMBER), "final_test_accuracy": _nullable(NUMBER),
        "seconds_per_epoch": _nullable(NUMBER),
        "analysis": _nullable(_ANALYSIS),
    },
}


_validate = fastjsonschema.compile(SCHEMA)


class RecordError(ValueError):
    """A run.json does not have the shape readers rely on. The message names the field and the problem."""


def check(data: Any) -> None:
    """Raise RecordError unless ``data`` is a run record every reader can use as it is. Its config is
    made canonical in place: every setting present, those the record predates at their defaults."""
    try:
        _validate(data)
    except fastjsonschema.JsonSchemaValueException as e:
        message = e.message.removeprefix("data.").removeprefix("data ")
        message = f"the record {message}" if message.startswith("must") else message
        raise RecordError(message if len(message) <= 160 else message[:157] + "...") from None
    if data.get("owned_by") is not None and not access.valid_owner(data["owned_by"]):
        raise RecordError("owned_by is not an owner id")
    try:
        data["config"] = RunConfig.from_dict(data["config"]).to_dict()
    except ConfigError as e:
        raise RecordError(f"config: {e}") from None
