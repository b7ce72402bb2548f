"""Validating an event before it is queued, against the JSON Schema costream exports
(``schemas/json/RawUsageEvent.schema.json``, shipped in this package as it is).

Reasons read like the worker's dead letters (``"occurred_at: Input should have timezone
info"``, ``"usage.output_tokens: Input should be greater than or equal to 0"``): the
field's dotted path, then pydantic's wording for the same rule. What the schema cannot
state (an unknown provider, usage that does not add up) the worker finds and
dead-letters with its reason.
"""

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker
from jsonschema.exceptions import ValidationError

SCHEMA_FILE = "RawUsageEvent.schema.json"
MAX_REASONS = 5


class EventError(ValueError):
    """The event does not follow the schema; the message names each field."""


@cache
def raw_event_schema() -> dict[str, Any]:
    text = (resources.files("costream_client") / "schema" / SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


_FORMATS = FormatChecker(formats=())


@_FORMATS.checks("date-time", raises=ValueError)
def _date_time(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("Input should have timezone info")
    return True


@cache
def _validator() -> Draft202012Validator:
    return Draft202012Validator(raw_event_schema(), format_checker=_FORMATS)


def _path(error: ValidationError, extra: str | None = None) -> str:
    parts = [str(part) for part in error.absolute_path]
    if extra is not None:
        parts.append(extra)
    return ".".join(parts)


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" + ("" if count == 1 else "s")


_TYPES = {"string": "a valid string", "integer": "a valid integer", "object": "a valid dictionary",
          "array": "a valid list", "number": "a valid number", "boolean": "a valid boolean",
          "null": "None"}  # fmt: skip


_UNION_TAGS = {"object": "dict[str,any]", "array": "list[any]", "string": "str", "integer": "int", "number": "float"}


def _reasons(error: ValidationError) -> Iterator[tuple[str, str]]:
    """(field, message) in pydantic's words for the rule ``error`` broke."""
    kind, value = error.validator, error.instance
    rule: Any = error.validator_value
    schema: Any = error.schema
    if kind == "anyOf" and error.context:
        # an optional field: the reason is the non-null alternative's
        branches = [e for e in error.context if not (e.validator == "type" and e.validator_value == "null")]
        if len(branches) > 1 and all(e.validator == "type" and not e.relative_path for e in branches):
            # a union of types (``response``): pydantic names each alternative it tried
            for branch in branches:
                tag = _UNION_TAGS.get(str(branch.validator_value), str(branch.validator_value))
                yield f"{_path(error)}.{tag}", f"Input should be {_TYPES.get(str(branch.validator_value))}"
            return
        deepest = max(branches, key=lambda e: len(e.relative_path), default=None) if branches else None
        if deepest is not None:
            yield from _reasons(deepest)
            return
    if kind == "required":
        missing = [name for name in rule if isinstance(value, Mapping) and name not in value]
        for name in missing:
            yield _path(error, name), "Field required"
    elif kind == "additionalProperties":
        allowed = set(schema.get("properties", {}))
        for name in value if isinstance(value, Mapping) else ():
            if name not in allowed:
                yield _path(error, str(name)), "Extra inputs are not permitted"
    elif kind == "type":
        wanted = rule if isinstance(rule, str) else rule[0]
        yield _path(error), f"Input should be {_TYPES.get(wanted, wanted)}"
    elif kind == "minLength":
        yield _path(error), f"String should have at least {_plural(rule, 'character')}"
    elif kind == "maxLength":
        yield _path(error), f"String should have at most {_plural(rule, 'character')}"
    elif kind == "minimum":
        yield _path(error), f"Input should be greater than or equal to {rule}"
    elif kind == "maximum":
        yield _path(error), f"Input should be less than or equal to {rule}"
    elif kind == "maxProperties":
        yield _path(error), f"Dictionary should have at most {rule} items after validation, not more"
    elif kind == "format":
        cause = str(error.cause) if error.cause else ""
        yield _path(error), cause if cause.startswith("Input should") else "Input should be a valid datetime"
    else:
        yield _path(error), error.message


def event_errors(event: Any) -> list[str]:
    """Every reason ``event`` breaks the schema, as ``"field: message"``."""
    found: dict[str, None] = {}  # in order, once each (one "required" error per missing field)
    errors = sorted(_validator().iter_errors(event), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        for field, message in _reasons(error):
            found[f"{field or 'event'}: {message}"] = None
    return list(found)


def describe(reasons: list[str]) -> str:
    """One line, as the worker joins them."""
    return "; ".join(reasons[:MAX_REASONS]) + (f" (+{len(reasons) - MAX_REASONS} more)"
                                               if len(reasons) > MAX_REASONS else "")  # fmt: skip


def validate_event(event: Any) -> None:
    """Raise :class:`EventError` naming every field ``event`` gets wrong."""
    reasons = event_errors(event)
    if reasons:
        raise EventError(describe(reasons))
