"""Prices in force at the event's time, and the per-period cache."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

from schemas import TokenUsage
from stream.pricing import PriceBook

M = Decimal(1_000_000)
TOKENS = TokenUsage(input_tokens=1_000_000, cache_read_tokens=0, output_tokens=1_000_000)


def test_mistral_medium_price_change_applies_from_its_start_date() -> None:
    # mistral-medium-latest: $0.40 in / $2 out per MTok, then $1.50 / $7.50 from 2026-06-16 (UTC)
    book = PriceBook.load()
    before = book.quote("mistral", "mistral-medium-latest", TOKENS, datetime(2026, 6, 15, 23, 59, 59, tzinfo=UTC))
    after = book.quote("mistral", "mistral-medium-latest", TOKENS, datetime(2026, 6, 16, tzinfo=UTC))
    assert before is not None and after is not None
    assert before.breakdown.total == Decimal("0.40") + Decimal(2)
    assert after.breakdown.total == Decimal("1.50") + Decimal("7.50")
    # the start date is a UTC date: 01:00 on the 16th in UTC+2 is still the 15th in UTC
    local = book.quote("mistral", "mistral-medium-latest", TOKENS,
                       datetime(2026, 6, 16, 1, tzinfo=timezone(timedelta(hours=2))))
    assert local is not None and local.breakdown.total == before.breakdown.total


def test_long_context_premium_ends_at_its_date() -> None:
    # claude-sonnet-4-6 billed input above 200k tokens at $6/MTok until 2026-03-13, $3 after
    book = PriceBook.load()
    tokens = TokenUsage(input_tokens=300_000)
    before = book.quote("anthropic", "claude-sonnet-4-6", tokens, datetime(2026, 3, 12, tzinfo=UTC))
    after = book.quote("anthropic", "claude-sonnet-4-6", tokens, datetime(2026, 3, 13, tzinfo=UTC))
    assert before is not None and after is not None
    assert before.breakdown.total == 300_000 * Decimal(6) / M
    assert after.breakdown.total == 300_000 * Decimal(3) / M


def test_prices_are_resolved_once_per_period_not_per_event() -> None:
    book = PriceBook.load()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    for minute in range(0, 60 * 24 * 400, 97):  # ~6000 events over 400 days
        assert book.quote("mistral", "mistral-medium-latest", TOKENS, start + timedelta(minutes=minute)) is not None
    (model,) = book._models.values()
    assert len(model.cuts) == 1  # the one start date
    assert len(model.periods) == 2  # before it, and from it


def test_off_peak_prices_follow_the_time_of_day() -> None:
    # deepseek-chat: $0.27 in / $1.10 out per MTok from 00:30 to 16:30 UTC, $0.135 / $0.55 otherwise
    book = PriceBook.load()
    peak, off_peak = Decimal("0.27") + Decimal("1.10"), Decimal("0.135") + Decimal("0.55")
    for at, expected in [
        (datetime(2025, 6, 1, 12, tzinfo=UTC), peak),
        (datetime(2025, 6, 1, 18, tzinfo=UTC), off_peak),
        (datetime(2025, 6, 1, 16, 30, tzinfo=UTC), off_peak),
        (datetime(2025, 6, 1, 16, 29, 59, tzinfo=UTC), peak),
        (datetime(2025, 6, 2, 0, 30, tzinfo=UTC), peak),
        (datetime(2025, 6, 2, 0, 29, tzinfo=UTC), off_peak),
        (datetime(2025, 6, 2, 2, tzinfo=timezone(timedelta(hours=8))), off_peak),  # 18:00 UTC the day before
    ]:
        quote = book.quote("deepseek", "deepseek-chat", TOKENS, at)
        assert quote is not None and quote.breakdown.total == expected, at
