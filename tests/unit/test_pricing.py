"""Pricing: expected costs are computed here from stated per-million rates."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from schemas import RawUsageEvent, TokenUsage, TrackingType
from stream.canonical import ExtractedUsage
from stream.pricing import OverridesError, PriceBook, price_event

M = Decimal(1_000_000)
NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.load()


def test_anthropic_breakdown_per_token_type(book: PriceBook) -> None:
    # claude-sonnet-4-5: input $3, cache read $0.30, 5m cache write $3.75, 1h cache write $6, output $15 per MTok
    tokens = TokenUsage(input_tokens=16353, cache_read_tokens=14500, cache_write_tokens=1832,
                        cache_write_1h_tokens=800, output_tokens=393)
    quote = book.quote("anthropic", "claude-sonnet-4-5-20250929", tokens, NOW, "acme")
    assert quote is not None
    uncached = 16353 - 14500 - 1832
    cost = quote.breakdown
    assert cost.input == uncached * Decimal(3) / M
    assert cost.cache_read == 14500 * Decimal("0.30") / M
    assert cost.cache_write == (1832 - 800) * Decimal("3.75") / M + 800 * Decimal(6) / M
    assert cost.output == 393 * Decimal(15) / M
    assert cost.total == cost.input + cost.cache_read + cost.cache_write + cost.output
    assert quote.price_source == "genai-prices" and quote.price_version
    assert quote.resolved_model == "anthropic/claude-sonnet-4-5"


def test_openai_cached_input_and_reasoning_line(book: PriceBook) -> None:
    # gpt-4o-mini: input $0.15, cached $0.075, output $0.60 per MTok; reasoning billed as output
    tokens = TokenUsage(input_tokens=1117, cache_read_tokens=1024, output_tokens=460, reasoning_tokens=100)
    quote = book.quote("openai", "gpt-4o-mini", tokens, NOW)
    assert quote is not None
    assert quote.breakdown.input == (1117 - 1024) * Decimal("0.15") / M
    assert quote.breakdown.cache_read == 1024 * Decimal("0.075") / M
    assert quote.breakdown.reasoning == 100 * Decimal("0.6") / M
    assert quote.breakdown.output == 360 * Decimal("0.6") / M


def test_long_context_tier_applies_above_the_threshold(book: PriceBook) -> None:
    # gemini-2.5-pro: $1.25 / $10 per MTok up to 200k input tokens, $2.50 / $15 above
    short = book.quote("google", "gemini-2.5-pro", TokenUsage(input_tokens=200_000, output_tokens=1000), NOW)
    long = book.quote("google", "gemini-2.5-pro", TokenUsage(input_tokens=200_001, output_tokens=1000), NOW)
    assert short and long
    assert short.breakdown.total == 200_000 * Decimal("1.25") / M + 1000 * Decimal(10) / M
    assert long.breakdown.total == 200_001 * Decimal("2.5") / M + 1000 * Decimal(15) / M


def test_the_price_in_force_at_the_event_time_applies(book: PriceBook) -> None:
    # claude-sonnet-4-6 charged a long-context premium (input $6/MTok above 200k) until 2026-03-13
    tokens = TokenUsage(input_tokens=300_000, output_tokens=0)
    before = book.quote("anthropic", "claude-sonnet-4-6", tokens, datetime(2026, 3, 1, tzinfo=UTC))
    after = book.quote("anthropic", "claude-sonnet-4-6", tokens, datetime(2026, 4, 1, tzinfo=UTC))
    assert before and after
    assert before.breakdown.total == 300_000 * Decimal(6) / M
    assert after.breakdown.total == 300_000 * Decimal(3) / M


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("aws", "us.anthropic.claude-3-5-haiku-20241022-v1:0",
         "aws/regional.anthropic.claude-3-5-haiku-20241022-v1:0"),
        ("bedrock",
         "arn:aws:bedrock:us-east-1:123456789012:inference-profile/eu.anthropic.claude-3-7-sonnet-20250219-v1:0",
         "aws/regional.anthropic.claude-3-7-sonnet-20250219-v1:0"),
        ("aws", "global.anthropic.claude-haiku-4-5-20251001-v1:0",
         "aws/global.anthropic.claude-haiku-4-5-20251001-v1:0"),
        ("openai", "gpt-4o-2024-08-06", "openai/gpt-4o"),
        ("claude", "claude-3-5-sonnet@20241022", "anthropic/claude-3-5-sonnet"),
        ("mistral", "mistral-large-latest", "mistral/mistral-large"),
    ],
)
def test_model_ids_are_normalised_for_lookup(book: PriceBook, provider: str, model: str, expected: str) -> None:
    quote = book.quote(provider, model, TokenUsage(input_tokens=1000, output_tokens=10), NOW)
    assert quote is not None, model
    assert quote.resolved_model == expected


def test_an_unknown_model_is_unpriced_never_zero(book: PriceBook) -> None:
    assert book.quote("openai", "acme-finetune-v7", TokenUsage(input_tokens=10, output_tokens=1), NOW) is None


def event(**overrides: object) -> RawUsageEvent:
    return RawUsageEvent.model_validate({
        "event_id": "e", "tenant_id": "acme", "occurred_at": NOW, "provider": "openai", "model": "gpt-4o-mini",
        "usage": {"input_tokens": 1000, "output_tokens": 100}, **overrides,
    })


def test_tracking_type_order_and_drift(book: PriceBook) -> None:
    tokens = TokenUsage(input_tokens=1000, output_tokens=100)
    token_cost = 1000 * Decimal("0.15") / M + 100 * Decimal("0.6") / M
    priced = price_event(event(), ExtractedUsage(tokens, None, None), book, NOW)
    assert (priced.tracking_type, priced.total_cost, priced.cost_drift_usd) == (TrackingType.TOKENS, token_cost, None)

    reported = price_event(event(provider_cost_usd="0.0003"), ExtractedUsage(tokens, None, None), book, NOW)
    assert reported.tracking_type is TrackingType.PROVIDER_COST
    assert reported.total_cost == Decimal("0.0003")
    assert reported.token_cost is not None and reported.token_cost.total == token_cost
    assert reported.cost_drift_usd == Decimal("0.0003") - token_cost

    unknown = price_event(event(model="mystery"), ExtractedUsage(tokens, None, None), book, NOW)
    assert (unknown.tracking_type, unknown.priced, unknown.total_cost, unknown.token_cost) == (
        TrackingType.UNPRICED, False, None, None)
    assert unknown.tokens == tokens and unknown.model == "mystery"

    from_response = price_event(event(model="mystery"), ExtractedUsage(tokens, None, Decimal("0.5")), book, NOW)
    assert from_response.tracking_type is TrackingType.PROVIDER_COST and from_response.priced


def write_overrides(path: Path, entries: list[dict[str, object]]) -> Path:
    path.write_text(yaml.safe_dump({"overrides": entries}))
    return path


def test_operator_rates_tenant_discounts_and_effective_dates(tmp_path: Path) -> None:
    path = write_overrides(tmp_path / "prices.yaml", [
        {"model": "acme-finetune-v7", "provider": "openai", "effective_from": "2026-01-01T00:00:00Z",
         "rates": {"input": "0.30", "cache_read": "0.15", "output": "1.20"}},
        {"model": "gpt-4o-mini*", "tenant_id": "globex", "multiplier": "0.85",
         "effective_from": "2026-06-01T00:00:00Z", "effective_until": "2027-01-01T00:00:00Z"},
        {"model": "acme-finetune-v7", "tenant_id": "initech", "multiplier": "1.10",
         "effective_from": "2026-01-01T00:00:00Z"},
    ])
    book = PriceBook.load(path)
    tokens = TokenUsage(input_tokens=2000, cache_read_tokens=1000, output_tokens=500)

    custom = book.quote("openai", "acme-finetune-v7", tokens, NOW, "acme")
    assert custom is not None and custom.price_source == "operator"
    custom_total = 1000 * Decimal("0.30") / M + 1000 * Decimal("0.15") / M + 500 * Decimal("1.20") / M
    assert custom.breakdown.total == custom_total

    marked_up = book.quote("openai", "acme-finetune-v7", tokens, NOW, "initech")
    assert marked_up is not None and marked_up.price_source == "tenant:initech"
    assert marked_up.breakdown.total == custom_total * Decimal("1.10")

    base = 1000 * Decimal("0.15") / M + 1000 * Decimal("0.075") / M + 500 * Decimal("0.6") / M
    discounted = book.quote("openai", "gpt-4o-mini", tokens, NOW, "globex")
    assert discounted is not None and discounted.breakdown.total == base * Decimal("0.85")
    assert discounted.price_version.startswith(book.overrides.revision)
    # before the discount started, and for other tenants, the list price
    earlier = book.quote("openai", "gpt-4o-mini", tokens, datetime(2026, 5, 1, tzinfo=UTC), "globex")
    assert earlier is not None and earlier.breakdown.total == base
    other = book.quote("openai", "gpt-4o-mini", tokens, NOW, "acme")
    assert other is not None and other.breakdown.total == base
    # before its effective date, the custom model is unknown
    assert book.quote("openai", "acme-finetune-v7", tokens, datetime(2025, 6, 1, tzinfo=UTC), "acme") is None


def test_invalid_override_files_name_the_entry(tmp_path: Path) -> None:
    path = write_overrides(tmp_path / "bad.yaml", [
        {"model": "x", "effective_from": "2026-01-01T00:00:00Z", "multiplier": "0.9",
         "rates": {"input": 1, "output": 2}},
    ])
    with pytest.raises(OverridesError, match=r"overrides\.0"):
        PriceBook.load(path)
    path = write_overrides(tmp_path / "bad2.yaml", [{"model": "x", "effective_from": "yesterday", "multiplier": 1}])
    with pytest.raises(OverridesError, match="effective_from"):
        PriceBook.load(path)
