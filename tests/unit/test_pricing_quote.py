"""Breakdowns per token type; expected costs computed here from the stated per-million rates."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schemas import CostBreakdown, TokenUsage
from stream.pricing import CompiledRates, PriceBook, price_tokens

M = Decimal(1_000_000)
AT = datetime(2026, 5, 1, 12, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.load()


def test_claude_sonnet_lines(book: PriceBook) -> None:
    # claude-3-5-sonnet: input $3, cache read $0.30, cache write (5m) $3.75, output $15 per MTok
    tokens = TokenUsage(input_tokens=20_000, cache_read_tokens=12_000, cache_write_tokens=3_000, output_tokens=700)
    quote = book.quote("anthropic", "claude-3-5-sonnet-20241022", tokens, AT, "acme")
    assert quote is not None
    cost = quote.breakdown
    assert cost.input == 5_000 * Decimal(3) / M
    assert cost.cache_read == 12_000 * Decimal("0.30") / M
    assert cost.cache_write == 3_000 * Decimal("3.75") / M
    assert cost.output == 700 * Decimal(15) / M
    assert cost.reasoning == 0 and cost.other == 0
    assert cost.total == Decimal("0.015") + Decimal("0.0036") + Decimal("0.01125") + Decimal("0.0105")


def test_one_hour_cache_writes_at_their_own_rate(book: PriceBook) -> None:
    # claude-sonnet-4-5: 5m writes $3.75, 1h writes $6 per MTok
    tokens = TokenUsage(input_tokens=5_000, cache_write_tokens=4_000, cache_write_1h_tokens=1_000, output_tokens=0)
    quote = book.quote("anthropic", "claude-sonnet-4-5", tokens, AT)
    assert quote is not None
    assert quote.breakdown.cache_write == 3_000 * Decimal("3.75") / M + 1_000 * Decimal(6) / M
    assert quote.breakdown.input == 1_000 * Decimal(3) / M


def test_reasoning_has_its_own_line_at_the_output_rate(book: PriceBook) -> None:
    # o3-mini: input $1.10, cached input $0.55, output $4.40 per MTok; no reasoning rate
    tokens = TokenUsage(input_tokens=2_000, cache_read_tokens=1_024, output_tokens=3_000, reasoning_tokens=2_500)
    quote = book.quote("openai", "o3-mini", tokens, AT)
    assert quote is not None
    assert quote.breakdown.reasoning == 2_500 * Decimal("4.40") / M
    assert quote.breakdown.output == 500 * Decimal("4.40") / M
    assert quote.breakdown.input == 976 * Decimal("1.10") / M
    assert quote.breakdown.cache_read == 1_024 * Decimal("0.55") / M


def test_long_context_tier_is_chosen_by_total_input_including_cache(book: PriceBook) -> None:
    # gemini-2.5-pro: input $1.25, cache read $0.125, output $10 up to 200k input; $2.50 / $0.25 / $15 above
    below = TokenUsage(input_tokens=200_000, cache_read_tokens=150_000, output_tokens=1_000)
    above = TokenUsage(input_tokens=200_001, cache_read_tokens=150_000, output_tokens=1_000)
    low, high = book.quote("google", "gemini-2.5-pro", below, AT), book.quote("google", "gemini-2.5-pro", above, AT)
    assert low is not None and high is not None
    assert low.breakdown.total == 50_000 * Decimal("1.25") / M + 150_000 * Decimal("0.125") / M + 1_000 * 10 / M
    assert high.breakdown.total == 50_001 * Decimal("2.5") / M + 150_000 * Decimal("0.25") / M + 1_000 * 15 / M


def test_audio_is_billed_in_other_at_the_audio_rate() -> None:
    rates = CompiledRates(input=Decimal(2), cache_read=Decimal(1), cache_write_5m=Decimal(2),
                          cache_write_1h=Decimal(2), output=Decimal(8), input_audio=Decimal(40),
                          output_audio=Decimal(80), per_request=Decimal("0.001"))
    tokens = TokenUsage(input_tokens=1_000, cache_read_tokens=100, input_audio_tokens=300, output_tokens=500,
                        output_audio_tokens=200)
    cost = price_tokens(rates, tokens)
    assert cost.input == 600 * Decimal(2) / M
    assert cost.output == 300 * Decimal(8) / M
    assert cost.other == 300 * Decimal(40) / M + 200 * Decimal(80) / M + Decimal("0.001")


def test_lines_finer_than_18_places_round_half_even_and_still_sum() -> None:
    third = Decimal("0.333333333333333333333")  # $/MTok with 21 places: 1 token costs 3.33...E-7 at 27 places
    rates = CompiledRates(input=third, cache_read=third, cache_write_5m=third, cache_write_1h=third, output=third)
    cost = price_tokens(rates, TokenUsage(input_tokens=3, cache_read_tokens=1, output_tokens=1))
    assert cost.input == Decimal("0.000000666666666667")  # 6.666...E-7 -> ...667
    assert cost.cache_read == Decimal("0.000000333333333333")
    assert cost.total == cost.input + cost.cache_read + cost.output
    assert CostBreakdown.model_validate(cost.model_dump()) == cost


def test_the_unvalidated_breakdown_is_a_real_one(book: PriceBook) -> None:
    tokens = TokenUsage(input_tokens=1_234, cache_read_tokens=200, output_tokens=56, reasoning_tokens=7)
    quote = book.quote("openai", "gpt-4o", tokens, AT)
    assert quote is not None
    validated = CostBreakdown.model_validate(quote.breakdown.model_dump())
    assert validated == quote.breakdown
    assert quote.breakdown.model_dump_json() == validated.model_dump_json()
    assert quote.breakdown.model_fields_set == validated.model_fields_set


def test_zero_usage_of_a_known_model_is_a_zero_quote_not_unpriced(book: PriceBook) -> None:
    quote = book.quote("openai", "gpt-4o", TokenUsage(), AT)
    assert quote is not None and quote.breakdown.total == 0


@pytest.mark.parametrize("model", ["acme-finetune-v7", "gpt-99-ultra", "", "   "])
def test_unknown_models_are_unpriced_never_zero(book: PriceBook, model: str) -> None:
    assert book.quote("openai", model, TokenUsage(input_tokens=10, output_tokens=1), AT, "acme") is None
    assert book.rates("openai", model, AT) is None


def test_junk_model_ids_neither_grow_the_cache_nor_evict_the_models_in_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from stream.pricing import book as book_module

    monkeypatch.setattr(book_module, "MAX_CACHED_MODELS", 8)
    prices = PriceBook.load()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    in_use = prices.resolve("openai", "gpt-4o-mini", at)
    assert in_use is not None
    for n in range(100):
        assert prices.resolve("openai", f"junk-{n}", at) is None  # unpriced, never $0
        prices.resolve("openai", "gpt-4o-mini", at)  # the model in use stays the most recent
    assert len(prices._models) == 8
    assert ("openai", "gpt-4o-mini", None) in prices._models
