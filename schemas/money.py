"""Money as exact decimals: the scale every cost column and message uses."""

from decimal import Context, Decimal
from typing import Annotated

from pydantic import AfterValidator, Field, PlainSerializer

# ClickHouse cost columns are Decimal(38, 18): 20 integer digits, 18 fractional. Per-token
# rates published per million tokens need at most ~10 fractional digits, so 18 leaves
# room for exact products without rounding.
COST_SCALE = 18
COST_QUANTUM = Decimal(1).scaleb(-COST_SCALE)
MAX_COST = Decimal(10) ** 20

# Enough digits for any sum of Decimal(38, 18) amounts without rounding; the default
# context (28 digits) would silently round large totals.
MONEY_CONTEXT = Context(prec=60)


def _exact_at_cost_scale(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite number")
    if value.as_tuple().exponent < -COST_SCALE:  # type: ignore[operator]
        raise ValueError(f"has more than {COST_SCALE} decimal places")
    if abs(value) >= MAX_COST:
        raise ValueError(f"must be below {MAX_COST}")
    return value


def plain_decimal(value: Decimal) -> str:
    """A decimal as JSON and CSV carry it: exact and plain, never in exponent notation
    (``0E-18`` reads ``0.000000000000000000``, ``1E+2`` reads ``100``)."""
    return format(value, "f")


PlainDecimalText = PlainSerializer(plain_decimal, return_type=str, when_used="json")
"""Serialises a Decimal field with ``plain_decimal`` in JSON (Python dumps keep the Decimal)."""

Usd = Annotated[Decimal, AfterValidator(_exact_at_cost_scale), PlainDecimalText]
"""A USD amount, exact, at most 18 decimal places (may be negative only where stated)."""

NonNegativeUsd = Annotated[Usd, Field(ge=0)]

Percent = Annotated[Decimal, PlainDecimalText]
"""A percentage, exact, written plainly in JSON like money."""
