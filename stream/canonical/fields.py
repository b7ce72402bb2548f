"""Typed, validated reads from provider JSON: every bad value becomes a UsageError that
names its dotted path, never a KeyError or TypeError."""

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from schemas.limits import MAX_EVENT_COST_USD
from schemas.money import COST_SCALE
from schemas.usage import MAX_TOKENS_PER_EVENT
from stream.canonical.errors import UsageError


@dataclass(frozen=True, slots=True)
class Match:
    """A path step into a JSON array: the first object whose ``field`` equals ``value``
    (Gemini's ``[{"modality": "AUDIO", "tokenCount": 7}]``, Bedrock's ``cacheDetails``)."""

    field: str
    value: str

    def __str__(self) -> str:
        return f"[{self.field}={self.value}]"


Step = str | Match
Path = tuple[Step, ...]


def dig(document: Any, path: Path) -> Any:
    """The value at ``path``, or None when any step is missing or of the wrong type."""
    current = document
    for step in path:
        # JSON objects decode to exact dicts; the exact type check is the fast one
        if type(step) is str:
            if type(current) is not dict:
                return None
            current = current.get(step)
        else:
            current = match(current, step)  # type: ignore[arg-type]
        if current is None:
            return None
    return current


def match(items: Any, step: Match) -> Any:
    if type(items) is not list:
        return None
    for item in items:
        if type(item) is dict and item.get(step.field) == step.value:
            return item
    return None


def dotted(where: str, path: Path) -> str:
    """``where`` + ``path`` as one field name: ``response.usage.prompt_tokens_details.cached_tokens``."""
    text_path = where
    for step in path:
        text_path += f".{step}" if type(step) is str else str(step)
    return text_path


def check_count(value: object, field: str) -> int:
    """``value`` as a token count: a non-negative integer within reason."""
    if type(value) is int:
        if 0 <= value <= MAX_TOKENS_PER_EVENT:
            return value
        if value < 0:
            raise UsageError(field, f"cannot be negative ({value})")
        raise UsageError(field, f"{value} is beyond any real request (limit {MAX_TOKENS_PER_EVENT})")
    if isinstance(value, float) and value.is_integer():
        raise UsageError(field, f"token counts are integers, got {value!r}")
    if type(value) is Decimal:  # a JSON number with a fraction or exponent, decoded exactly
        # worded as when such numbers were decoded as floats, so reasons read the same
        if value.is_finite() and value == value.to_integral_value():
            raise UsageError(field, f"token counts are integers, got {value}")
        raise UsageError(field, f"expected a whole number of tokens, got float {value!s:.40}")
    raise UsageError(field, f"expected a whole number of tokens, got {type(value).__name__} {value!r:.40}")


def count(document: Any, path: Path, where: str) -> int | None:
    """The token count at ``path``, or None if absent (JSON null counts as absent)."""
    value = dig(document, path)
    if value is None:
        return None
    if type(value) is int and 0 <= value <= MAX_TOKENS_PER_EVENT:
        return value
    return check_count(value, dotted(where, path))


def money(document: Any, path: Path, where: str) -> Decimal | None:
    """A reported USD amount, exact: a JSON number arrives as a Decimal of its text (the
    decoders' ``float_hook``); a float, where one is given, is read from its ``repr``
    (the shortest text that reads back as it), never through float arithmetic."""
    value = dig(document, path)
    if value is None:
        return None
    field = dotted(where, path)
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        raise UsageError(field, f"expected a number, got {type(value).__name__}")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except (InvalidOperation, ValueError):
        raise UsageError(field, f"not a number: {value!r:.40}") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_EVENT_COST_USD:
        raise UsageError(field, f"must be a finite amount between 0 and {MAX_EVENT_COST_USD}, got {value!r:.40}")
    if amount.as_tuple().exponent < -COST_SCALE:  # type: ignore[operator]
        # the cost columns keep 18 places; the priced event is built without validating it again
        raise UsageError(field, f"has more than {COST_SCALE} decimal places, got {value!s:.40}")
    return amount


def text(document: Any, path: Path) -> str | None:
    value = dig(document, path)
    return value if isinstance(value, str) and value else None
