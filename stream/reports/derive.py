"""Columns computed from a row's sums, in exact decimals (pure).

Ratios are computed here rather than in SQL so they divide exact sums with a known
precision and rounding, the same way a test or a spreadsheet would.
"""

from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from schemas.money import COST_QUANTUM, MONEY_CONTEXT

RATIO_QUANTUM = Decimal("0.0001")
"""Ratios and percentages: 4 decimal places, half-even."""

Row = Mapping[str, Any]


def ratio(numerator: Any, denominator: Any, quantum: Decimal = RATIO_QUANTUM) -> Decimal | None:
    """numerator / denominator rounded half-even to ``quantum``; None when the denominator is 0."""
    if not denominator:
        return None
    return MONEY_CONTEXT.divide(Decimal(numerator), Decimal(denominator)).quantize(quantum, ROUND_HALF_EVEN)


def uncached_input_tokens(row: Row) -> int:
    return int(row["input_tokens"]) - int(row["cache_read_tokens"]) - int(row["cache_write_tokens"])


def cache_hit_ratio(row: Row) -> Decimal | None:
    """Cache reads over all input tokens (canonical input includes cache reads and writes)."""
    return ratio(row["cache_read_tokens"], row["input_tokens"])


def cost_per_1k_tokens(row: Row) -> Decimal | None:
    tokens = int(row["input_tokens"]) + int(row["output_tokens"])
    return ratio(MONEY_CONTEXT.multiply(Decimal(row["cost"]), Decimal(1000)), tokens, COST_QUANTUM)


def avg_tokens_per_request(row: Row) -> Decimal | None:
    return ratio(int(row["input_tokens"]) + int(row["output_tokens"]), row["requests"], Decimal("0.01"))


def avg_cost_per_request(row: Row) -> Decimal | None:
    return ratio(row["cost"], row["requests"], COST_QUANTUM)


def input_output_ratio(row: Row) -> Decimal | None:
    return ratio(row["input_tokens"], row["output_tokens"])


def avg_latency_ms(row: Row) -> Decimal | None:
    return ratio(row["latency_ms_sum"], row["latency_requests"], Decimal("0.1"))


def drift_pct(row: Row) -> Decimal | None:
    """How far the provider's reported cost is from the price book, in percent of the book."""
    return ratio(MONEY_CONTEXT.multiply(Decimal(row["drift"]), Decimal(100)), row["token_cost"])


DERIVED: dict[str, Callable[[Row], Any]] = {
    "uncached_input_tokens": uncached_input_tokens,
    "cache_hit_ratio": cache_hit_ratio,
    "cost_per_1k_tokens": cost_per_1k_tokens,
    "avg_tokens_per_request": avg_tokens_per_request,
    "avg_cost_per_request": avg_cost_per_request,
    "input_output_ratio": input_output_ratio,
    "avg_latency_ms": avg_latency_ms,
    "drift_pct": drift_pct,
}
