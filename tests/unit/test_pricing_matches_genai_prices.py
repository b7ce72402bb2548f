"""The compiled fast path equals genai-prices' calc_price to the last digit, over thousands
of generated usages on real models of many providers, at many instants; and where the two
differ on purpose, the difference is pinned here."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from genai_prices import Usage, calc_price, data_snapshot
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from schemas import CostBreakdown, TokenUsage
from schemas.money import COST_SCALE
from stream.pricing import PriceBook
from stream.pricing.corrections import Corrections
from stream.pricing.genai import genai_usage
from stream.pricing.rates import compile_model_price

PROVIDERS = ("anthropic", "openai", "google", "deepseek", "aws", "mistral", "x-ai", "groq", "openrouter", "azure")
SNAPSHOT = data_snapshot.get_snapshot()
# genai-prices' data alone: the shipped corrections differ from it on purpose, from dates the
# sampled instants reach (each is pinned in its own test_pricing_shipped_* module)
BOOK = PriceBook.load(corrections=Corrections.empty())
INSTANTS = st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC))
LINES = 6


def _resolves_to_itself(provider_id: str, model_id: str) -> bool:
    try:
        provider, model = SNAPSHOT.find_provider_model(model_id, None, provider_id, None)
    except LookupError:
        return False
    return provider.id == provider_id and model.id == model_id


def _prices(model: object) -> list[object]:
    prices = getattr(model, "prices")  # noqa: B009
    return [prices] if not isinstance(prices, list) else [conditional.prices for conditional in prices]


MODELS = sorted(
    (provider.id, model.id)
    for provider in SNAPSHOT.providers if provider.id in PROVIDERS
    for model in provider.models
    if _resolves_to_itself(provider.id, model.id)
    and all(compile_model_price(price) is not None for price in _prices(model))  # type: ignore[arg-type]
)
TIERED = [
    (provider_id, model_id) for provider_id, model_id in MODELS
    if any(
        (rates := compile_model_price(price)) is not None and rates.tiers  # type: ignore[arg-type]
        for price in _prices(SNAPSHOT.find_provider_model(model_id, None, provider_id, None)[1])
    )
]
# thresholds of long-context tiers, and their neighbours
EDGES = (0, 1, 128_000, 128_001, 200_000, 200_001, 272_000, 272_001)


@st.composite
def usages(draw: st.DrawFn) -> TokenUsage:
    input_tokens = draw(st.one_of(st.integers(0, 2_000_000), st.sampled_from(EDGES)))
    cache_read = draw(st.integers(0, input_tokens))
    cache_write = draw(st.integers(0, input_tokens - cache_read))
    output = draw(st.integers(0, 300_000))
    reasoning = draw(st.integers(0, output))
    return TokenUsage(
        input_tokens=input_tokens, cache_read_tokens=cache_read, cache_write_tokens=cache_write,
        cache_write_1h_tokens=draw(st.integers(0, cache_write)), output_tokens=output, reasoning_tokens=reasoning,
        # audio that genai-prices can place: within the uncached input and beside reasoning
        input_audio_tokens=draw(st.integers(0, input_tokens - cache_read - cache_write)),
        output_audio_tokens=draw(st.integers(0, output - reasoning)) if draw(st.booleans()) else 0,
    )


def assert_matches(provider_id: str, model_id: str, tokens: TokenUsage, at: datetime) -> None:
    expected = calc_price(genai_usage(tokens), model_ref=model_id, provider_id=provider_id,
                          genai_request_timestamp=at).total_price
    quote = BOOK.quote(provider_id, model_id, tokens, at)
    assert quote is not None, (provider_id, model_id)
    cost = quote.breakdown
    assert CostBreakdown.model_validate(cost.model_dump()) == cost  # parts sum, 18 places, non-negative
    if -expected.normalize().as_tuple().exponent <= COST_SCALE:  # type: ignore[operator]
        assert cost.total.normalize() == expected.normalize(), (provider_id, model_id, tokens, at)
    else:
        # a rate with more digits than the cost scale holds: each line rounded half-even
        assert abs(cost.total - expected) <= LINES * Decimal("0.5E-18"), (provider_id, model_id, tokens, at)


def test_the_sample_spans_providers_and_long_context_tiers() -> None:
    assert {provider_id for provider_id, _ in MODELS} >= set(PROVIDERS) - {"azure"}
    assert len(MODELS) > 500
    assert ("google", "gemini-2.5-pro") in TIERED and ("anthropic", "claude-sonnet-4-5") in TIERED
    assert ("deepseek", "deepseek-chat") in MODELS  # dated and off-peak prices


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(MODELS), tokens=usages(), at=INSTANTS)
def test_fast_path_equals_calc_price(model: tuple[str, str], tokens: TokenUsage, at: datetime) -> None:
    assert_matches(*model, tokens, at)


@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(model=st.sampled_from(TIERED), tokens=usages(), at=INSTANTS)
def test_fast_path_equals_calc_price_on_long_context_tiers(
    model: tuple[str, str], tokens: TokenUsage, at: datetime
) -> None:
    assert_matches(*model, tokens, at)


@pytest.mark.parametrize(
    ("provider_id", "model_id"),
    [("anthropic", "claude-sonnet-4-5"), ("google", "gemini-2.5-pro"), ("openai", "gpt-4o-mini"),
     ("aws", "us.anthropic.claude-sonnet-4-5-20250929-v1:0"), ("deepseek", "deepseek-chat"),
     ("mistral", "mistral-large"), ("x-ai", "grok-3"), ("groq", "llama-3.3-70b-versatile")],
)
def test_named_models_match_at_tier_edges(provider_id: str, model_id: str) -> None:
    at = datetime(2026, 5, 1, 3, tzinfo=UTC)
    for input_tokens in EDGES:
        tokens = TokenUsage(input_tokens=input_tokens, cache_read_tokens=input_tokens // 2,
                            cache_write_tokens=input_tokens // 4, cache_write_1h_tokens=input_tokens // 8,
                            output_tokens=5000, reasoning_tokens=1000)
        assert_matches(provider_id, model_id, tokens, at)


# --- where genai-prices behaves differently, on purpose or by surprise ------------------------


def test_genai_prices_rejects_audio_that_overlaps_cached_input_we_bill_it_once() -> None:
    # gpt-4o-realtime-preview prices input audio apart. Canonical usage allows the audio to
    # overlap cached tokens (both are subsets of input); genai-prices cannot place that.
    tokens = TokenUsage(input_tokens=1000, cache_read_tokens=800, input_audio_tokens=500, output_tokens=10)
    with pytest.raises(ValueError, match="Invalid usage"):
        calc_price(genai_usage(tokens), model_ref="gpt-4o-realtime-preview", provider_id="openai")
    quote = BOOK.quote("openai", "gpt-4o-realtime-preview", tokens, datetime(2026, 1, 1, tzinfo=UTC))
    rates = BOOK.rates("openai", "gpt-4o-realtime-preview", datetime(2026, 1, 1, tzinfo=UTC))
    assert quote is not None and rates is not None and rates.input_audio is not None
    million = Decimal(1_000_000)
    # 800 cached at the cache rate; of the 500 audio, only the 200 uncached are audio-priced
    assert quote.breakdown.cache_read == 800 * rates.cache_read / million
    assert quote.breakdown.input == 0
    assert quote.breakdown.other == 200 * rates.input_audio / million


def test_genai_prices_wants_explicit_joint_usage_keys() -> None:
    # With cache reads and input audio both reported, genai-prices refuses to infer
    # cache_audio_read_tokens for a model that prices it; genai_usage states it (0).
    usage = Usage(input_tokens=1000, cache_read_tokens=100, input_audio_tokens=100, output_tokens=1)
    with pytest.raises(ValueError, match="cache_audio_read_tokens"):
        calc_price(usage, model_ref="gpt-4o-realtime-preview", provider_id="openai")
    tokens = TokenUsage(input_tokens=1000, cache_read_tokens=100, input_audio_tokens=100, output_tokens=1)
    assert_matches("openai", "gpt-4o-realtime-preview", tokens, datetime(2026, 1, 1, tzinfo=UTC))


def test_a_rate_finer_than_the_cost_scale_is_rounded_half_even_per_line() -> None:
    # openrouter's google/gemini-2.5-flash-image carries a float-derived cache-write rate
    # (0.08333333333333334 $/MTok): one token costs 8.333333333333334E-8, 23 decimal places.
    rate = Decimal("0.08333333333333334")
    rates = BOOK.rates("openrouter", "google/gemini-2.5-flash-image", datetime(2026, 1, 1, tzinfo=UTC))
    assert rates is not None and rates.cache_write_5m == rate
    tokens = TokenUsage(input_tokens=1, cache_write_tokens=1)
    exact = calc_price(genai_usage(tokens), model_ref="google/gemini-2.5-flash-image", provider_id="openrouter",
                       genai_request_timestamp=datetime(2026, 1, 1, tzinfo=UTC)).total_price
    assert exact == rate / 1_000_000
    quote = BOOK.quote("openrouter", "google/gemini-2.5-flash-image", tokens, datetime(2026, 1, 1, tzinfo=UTC))
    assert quote is not None
    assert quote.breakdown.cache_write == Decimal("0.000000083333333333")
    assert quote.breakdown.total == Decimal("0.000000083333333333")


def test_a_model_priced_only_in_units_tokens_cannot_carry_is_unpriced_not_zero() -> None:
    # mistral-ocr-latest is priced per document page; genai-prices prices tokens at $0.
    tokens = TokenUsage(input_tokens=1000, output_tokens=100)
    genai_total = calc_price(genai_usage(tokens), model_ref="mistral-ocr-latest", provider_id="mistral").total_price
    assert genai_total == 0
    assert BOOK.quote("mistral", "mistral-ocr-latest", tokens, datetime(2026, 7, 1, tzinfo=UTC)) is None
