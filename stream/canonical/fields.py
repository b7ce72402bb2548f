"""Typed, validated reads from provider JSON: every bad value becomes a UsageError that
names its dotted path, never a KeyError or TypeError."""

from collections.abc import Sequence
from decimal import Decimal, InvalidOperation
from typing import Any

from schemas.usage import MAX_TOKENS_PER_EVENT
from stream.canonical.errors import UsageError

Path = tuple[str, ...]


def dig(document: Any, path: Path) -> Any:
    """The value at ``path``, or None when any step is missing or not an object."""
    current = document
    for step in path:
        if type(current) is not dict:  # JSON objects are dicts; exact type check is the fast one
            return None
        current = current.get(step)
    return current


def count(document: Any, path: Path, where: str) -> int | None:
    """A token count at ``path``: a non-negative integer within reason, or None if absent."""
    value = dig(document, path)
    if value is None:
        return None
    field = ".".join((where, *path))
    if type(value) is not int:
        if isinstance(value, float) and value.is_integer():
            raise UsageError(field, f"token counts are integers, got {value!r}")
        raise UsageError(field, f"expected a whole number of tokens, got {type(value).__name__} {value!r:.40}")
    if value < 0:
        raise UsageError(field, f"cannot be negative ({value})")
    if value > MAX_TOKENS_PER_EVENT:
        raise UsageError(field, f"{value} is beyond any real request (limit {MAX_TOKENS_PER_EVENT})")
    return value


def total(document: Any, paths: Sequence[Path], where: str) -> int:
    return sum(count(document, path, where) or 0 for path in paths)


def money(document: Any, path: Path, where: str) -> Decimal | None:
    """A reported USD amount, exact: parsed from the JSON number's text form."""
    value = dig(document, path)
    if value is None:
        return None
    field = ".".join((where, *path))
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise UsageError(field, f"expected a number, got {type(value).__name__}")
    try:
        amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation:
        raise UsageError(field, f"not a number: {value!r:.40}") from None
    if not amount.is_finite() or amount < 0:
        raise UsageError(field, f"must be a finite non-negative amount, got {value!r:.40}")
    return amount


def text(document: Any, path: Path) -> str | None:
    value = dig(document, path)
    return value if isinstance(value, str) and value else None
