"""The compiled fast path equals genai-prices' calc_price to the last digit, over
thousands of generated usages on real models of many providers."""

from datetime import UTC, datetime, timedelta

from genai_prices import Usage, calc_price, data_snapshot
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas import TokenUsage
from schemas.money import COST_QUANTUM, COST_SCALE
from stream.pricing import PriceBook
from stream.pricing.rates import usage_counts

PROVIDERS = ("anthropic", "openai", "google", "deepseek", "aws", "mistral", "x-ai", "groq", "openrouter", "azure")
SNAPSHOT = data_snapshot.get_snapshot()


def _findable(provider_id: str, model_id: str) -> bool:
    try:
        SNAPSHOT.find_provider_model(model_id, None, provider_id, None)
    except LookupError:
        return False  # genai-prices' own matching does not resolve this id to itself
    return True


MODELS = [
    (provider.id, model.id)
    for provider in SNAPSHOT.providers if provider.id in PROVIDERS
    for model in provider.models
    if _findable(provider.id, model.id)
]
BOOK = PriceBook.load()


@st.composite
def usages(draw: st.DrawFn) -> TokenUsage:
    input_tokens = draw(st.integers(0, 2_000_000))
    cache_read = draw(st.integers(0, input_tokens))
    cache_write = draw(st.integers(0, input_tokens - cache_read))
    output = draw(st.integers(0, 200_000))
    return TokenUsage(
        input_tokens=input_tokens, cache_read_tokens=cache_read, cache_write_tokens=cache_write,
        cache_write_1h_tokens=draw(st.integers(0, cache_write)), output_tokens=output,
        reasoning_tokens=draw(st.integers(0, output)),
        input_audio_tokens=draw(st.integers(0, input_tokens - cache_read - cache_write)),
        output_audio_tokens=draw(st.integers(0, output)) if draw(st.booleans()) else 0,
    )


def genai_usage(tokens: TokenUsage) -> Usage:
    return Usage(**{key: value for key, value in usage_counts(tokens).items() if value})


@settings(max_examples=3000, deadline=None)
@given(model=st.sampled_from(MODELS), tokens=usages(),
       at=st.datetimes(min_value=datetime(2024, 1, 1), max_value=datetime(2027, 6, 1), timezones=st.just(UTC)))
def test_fast_path_equals_calc_price(model: tuple[str, str], tokens: TokenUsage, at: datetime) -> None:
    provider_id, model_id = model
    try:
        expected = calc_price(genai_usage(tokens), model_ref=model_id, provider_id=provider_id,
                              genai_request_timestamp=at).total_price
    except ValueError:
        return  # genai-prices refuses this usage for this model (e.g. audio it cannot split)
    quote = BOOK.quote(provider_id, model_id, tokens, at)
    assert quote is not None, model
    if expected.as_tuple().exponent >= -COST_SCALE:  # type: ignore[operator]
        assert quote.breakdown.total == expected, (model, tokens, at)
    else:
        # A few data rates are repeating decimals written out (0.08333333333333334 per MTok):
        # each cost line is then rounded half-even at the 18 places money is stored with.
        assert abs(quote.breakdown.total - expected) <= 6 * COST_QUANTUM / 2, (model, tokens, at)


def test_every_model_genai_prices_resolves_is_in_the_book() -> None:
    assert len(MODELS) > 300
    at = datetime.now(UTC) - timedelta(days=1)
    tokens = TokenUsage(input_tokens=10, output_tokens=10)
    missing = [m for m in MODELS if BOOK.quote(m[0], m[1], tokens, at) is None]
    assert missing == []
