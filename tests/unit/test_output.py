"""Money reads as plain decimals in JSON and CSV, and tables never cut money or ids."""

import io
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
from rich.console import Console

from schemas.budgets import BreachKind, BudgetBreach, BudgetScope, BudgetState, BudgetStatus, Period, Severity
from schemas.windows import WindowAggregate
from stream.cli.output import print_rows
from stream.web.jsonutil import dumps

START = datetime(2026, 11, 1, tzinfo=UTC)
END = datetime(2026, 12, 1, tzinfo=UTC)
COLUMNS = ["tenant", "requests", "priced_requests", "unpriced_requests", "input_tokens", "output_tokens", "cost"]
# Eighteen places, as the store's Decimal(38, 18) columns send it.
LONG_COST = "5.694512345678901234"
ROWS = [["umbrella", 824, 801, 23, 8793836, 857124, LONG_COST], ["acme", 7, 7, 0, 1, 2, Decimal("0E-18")]]


def rendered(width: int, columns: list[str] = COLUMNS, rows: list[list[object]] = ROWS) -> str:
    out = io.StringIO()
    print_rows(Console(file=out, width=width, color_system=None), columns, rows, "table")
    return out.getvalue()


def test_json_and_csv_write_zero_and_large_amounts_plainly(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    rows = [["a", Decimal("0E-18"), Decimal("1E+2"), Decimal("-2.5E-7")]]
    print_rows(Console(), ["t", "zero", "hundred", "tiny"], rows, "json")
    assert orjson.loads(capsysbinary.readouterr().out) == [
        {"t": "a", "zero": "0.000000000000000000", "hundred": "100", "tiny": "-0.00000025"}]
    print_rows(Console(), ["t", "zero", "hundred", "tiny"], rows, "csv")
    assert capsysbinary.readouterr().out.decode().splitlines()[1] == "a,0.000000000000000000,100,-0.00000025"
    assert dumps({"x": Decimal("0E-18")}) == b'{"x":"0.000000000000000000"}'


def test_messages_on_the_topics_carry_plain_decimals() -> None:
    scope = BudgetScope()
    breach = BudgetBreach(
        breach_id="b1", kind=BreachKind.THRESHOLD, budget_id="acme-daily", tenant_id="acme", scope=scope,
        period=Period.DAY, period_start=START, period_end=END, threshold_percent=Decimal("1E+2"),
        severity=Severity.BLOCK, limit_usd=Decimal("1E+1"), spend_usd=Decimal("0E-18"), triggering_event_id="e1",
        crossed_at=START, emitted_at=START,
    )
    status = BudgetStatus(
        budget_id="acme-daily", tenant_id="acme", scope=scope, state=BudgetState.OK, period=Period.DAY,
        period_start=START, period_end=END, spend_usd=Decimal("0E-18"), limit_usd=Decimal("2E+1"),
        percent_used=Decimal("0E-16"), unpriced_requests=0, updated_at=START,
    )
    window = WindowAggregate(
        window_id="w", group_key="g", tenant_id="acme", window_start=START, window_end=END, window_seconds=60,
        provider="openai", model="gpt-4o", requests=1, priced_requests=1, unpriced_requests=0, input_tokens=1,
        cache_read_tokens=0, cache_write_tokens=0, output_tokens=1, reasoning_tokens=0,
        input_cost=Decimal("0E-18"), cache_savings=Decimal("-0E-18"), first_event_at=START, last_event_at=START,
        partial=True, version=1, emitted_at=START,
    )
    b, s, w = (orjson.loads(m.model_dump_json()) for m in (breach, status, window))
    assert (b["threshold_percent"], b["limit_usd"], b["spend_usd"]) == ("100", "10", "0.000000000000000000")
    assert (s["spend_usd"], s["limit_usd"], s["percent_used"]) == ("0.000000000000000000", "20", "0.0000000000000000")
    assert (w["input_cost"], w["cache_savings"], w["total_cost"]) == (
        "0.000000000000000000", "-0.000000000000000000", "0")
    assert BudgetBreach.model_validate_json(breach.model_dump_json()) == breach  # still reads back exactly


def test_a_wide_terminal_shows_every_column() -> None:
    text = rendered(160)
    assert all(name in text for name in COLUMNS)
    assert LONG_COST in text and "…" not in text


def test_an_80_column_terminal_drops_counts_before_money_and_says_so() -> None:
    text = rendered(80)
    assert max(len(line) for line in text.splitlines()) <= 80
    assert LONG_COST in text and "…" not in text  # money whole
    assert "umbrella" in text and "acme" in text
    assert "not shown at this width:" in text
    note = text.split("not shown at this width:")[1]
    assert "unpriced_requests" in note and "output_tokens" in note
    assert "│ cost" not in note and "cost" in text.split("not shown")[0]


def test_a_very_narrow_terminal_prints_each_row_as_a_block_with_every_value() -> None:
    text = rendered(40)
    assert max(len(line) for line in text.splitlines()) <= 40
    assert "row 1" in text and "row 2" in text and "…" not in text
    for name, value in zip(COLUMNS, ROWS[0], strict=True):
        assert any(line.split() == [name, str(value)] for line in text.splitlines()), name


def test_ids_are_never_cut_or_dropped() -> None:
    event_id = "0a2cd924-0a56-a67d-054f-20d45224d2a1"
    columns = ["event_id", "occurred_at", "tenant", "model", "input_tokens", "output_tokens", "cost", "request_id"]
    rows = [[event_id, "2026-11-22T15:02:58.614000Z", "acme", "openrouter/anthropic/claude-3.7-sonnet", 5739, 677,
             "0.027372000000000000", "req-e9b6e29dc3"]]
    for width in (80, 60):
        text = rendered(width, columns, rows)
        assert event_id in text and "req-e9b6e29dc3" in text and "0.027372" in text and "…" not in text
