"""JSON for query results: Decimals as plain strings (exact, never ``0E-18``), datetimes
as RFC 3339."""

from decimal import Decimal
from typing import Any
from uuid import UUID

import orjson

from schemas.money import plain_decimal


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return plain_decimal(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    if isinstance(value, set | frozenset | tuple):
        return list(value)
    raise TypeError(f"cannot encode {type(value).__name__}")


def dumps(value: Any) -> bytes:
    return orjson.dumps(value, default=_default, option=orjson.OPT_NON_STR_KEYS | orjson.OPT_UTC_Z)
