"""price_event: one tracking type per event, cost of record, drift; unknown models stay unpriced."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schemas import RawUsageEvent, TokenUsage, TrackingType
from stream.canonical import ExtractedUsage
from stream.pricing import PriceBook, price_event

M = Decimal(1_000_000)
AT = datetime(2026, 5, 1, tzinfo=UTC)
TOKENS = TokenUsage(input_tokens=1_000, output_tokens=100)
# gpt-4o-mini: input $0.15, output $0.60 per MTok
TOKEN_COST = 1_000 * Decimal("0.15") / M + 100 * Decimal("0.6") / M


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.load()


def event(**fields: object) -> RawUsageEvent:
    base: dict[str, object] = {"event_id": "e-1", "tenant_id": "acme", "occurred_at": AT, "provider": "openai",
                               "model": "gpt-4o-mini-2024-07-18", "usage": TOKENS.model_dump()}
    return RawUsageEvent.model_validate({**base, **fields})


def test_tokens(book: PriceBook) -> None:
    priced = price_event(event(), ExtractedUsage(TOKENS, None, None), book, AT)
    assert priced.tracking_type is TrackingType.TOKENS and priced.priced
    assert priced.total_cost == TOKEN_COST and priced.token_cost is not None
    assert priced.token_cost.total == TOKEN_COST and priced.cost_drift_usd is None
    assert (priced.model, priced.resolved_model) == ("gpt-4o-mini-2024-07-18", "openai/gpt-4o-mini")
    assert (priced.price_source, priced.price_version) == ("genai-prices", book.genai_version)


@pytest.mark.parametrize(("on_event", "in_response"), [(Decimal("0.0003"), None), (None, Decimal("0.0003"))])
def test_reported_cost_is_the_cost_of_record_and_drift_is_kept(
    book: PriceBook, on_event: Decimal | None, in_response: Decimal | None
) -> None:
    raw = event(provider_cost_usd=str(on_event)) if on_event is not None else event()
    priced = price_event(raw, ExtractedUsage(TOKENS, None, in_response), book, AT)
    assert priced.tracking_type is TrackingType.PROVIDER_COST and priced.priced
    assert priced.total_cost == Decimal("0.0003") == priced.provider_cost_usd
    assert priced.token_cost is not None and priced.token_cost.total == TOKEN_COST
    assert priced.cost_drift_usd == Decimal("0.0003") - TOKEN_COST


def test_the_events_reported_cost_wins_over_the_responses(book: PriceBook) -> None:
    priced = price_event(event(provider_cost_usd="0.5"), ExtractedUsage(TOKENS, None, Decimal("0.7")), book, AT)
    assert priced.total_cost == Decimal("0.5")


def test_unknown_model_is_unpriced_with_tokens_kept(book: PriceBook) -> None:
    priced = price_event(event(model="mystery-7b"), ExtractedUsage(TOKENS, None, None), book, AT)
    assert (priced.tracking_type, priced.priced, priced.total_cost, priced.token_cost) == (
        TrackingType.UNPRICED, False, None, None)
    assert priced.tokens == TOKENS and priced.model == "mystery-7b" and priced.resolved_model is None
    assert priced.price_source is None and priced.price_version is None


def test_reported_cost_of_an_unknown_model_is_priced_without_token_cost(book: PriceBook) -> None:
    priced = price_event(event(model="mystery-7b"), ExtractedUsage(TOKENS, None, Decimal("0.5")), book, AT)
    assert priced.tracking_type is TrackingType.PROVIDER_COST and priced.priced
    assert priced.token_cost is None and priced.cost_drift_usd is None and priced.total_cost == Decimal("0.5")


def test_model_from_the_response_when_the_event_names_none(book: PriceBook) -> None:
    priced = price_event(event(model=None), ExtractedUsage(TOKENS, "gpt-4o-mini", None), book, AT)
    assert priced.model == "gpt-4o-mini" and priced.total_cost == TOKEN_COST


def test_no_model_anywhere_is_unpriced_as_unknown(book: PriceBook) -> None:
    priced = price_event(event(model=None), ExtractedUsage(TOKENS, None, None), book, AT)
    assert (priced.model, priced.tracking_type, priced.total_cost) == ("unknown", TrackingType.UNPRICED, None)


def test_cache_savings_are_cache_reads_at_the_uncached_rate_minus_their_cost(book: PriceBook) -> None:
    # gpt-4o-mini: input $0.15, cached input $0.075 per MTok
    tokens = TokenUsage(input_tokens=10_000, cache_read_tokens=8_000, output_tokens=10)
    priced = price_event(event(usage=tokens.model_dump()), ExtractedUsage(tokens, None, None), book, AT)
    assert priced.cache_savings_usd == 8_000 * (Decimal("0.15") - Decimal("0.075")) / M


@pytest.mark.parametrize(("input_tokens", "input_rate", "read_rate"), [
    (100_000, Decimal("1.25"), Decimal("0.125")),  # gemini-2.5-pro up to 200k input tokens
    (300_000, Decimal("2.5"), Decimal("0.25")),  # and above: the whole request at the long-context tier
])
def test_cache_savings_use_the_long_context_tier_of_the_request(
    book: PriceBook, input_tokens: int, input_rate: Decimal, read_rate: Decimal
) -> None:
    tokens = TokenUsage(input_tokens=input_tokens, cache_read_tokens=50_000, output_tokens=10)
    raw = event(provider="google", model="gemini-2.5-pro", usage=tokens.model_dump())
    priced = price_event(raw, ExtractedUsage(tokens, None, None), book, AT)
    assert priced.cache_savings_usd == 50_000 * (input_rate - read_rate) / M


def test_no_cache_savings_without_cache_reads_and_none_when_unpriced(book: PriceBook) -> None:
    assert price_event(event(), ExtractedUsage(TOKENS, None, None), book, AT).cache_savings_usd == 0
    unknown = price_event(event(model="no-such-model-x"), ExtractedUsage(TOKENS, None, None), book, AT)
    assert unknown.cache_savings_usd is None and not unknown.priced
