"""Model ids as callers send them resolve to the book's model; the event keeps the id sent."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schemas import TokenUsage
from stream.pricing import PriceBook
from stream.pricing.normalize import lookup_variants

AT = datetime(2026, 5, 1, tzinfo=UTC)
TOKENS = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
BEDROCK_SONNET = "aws/regional.anthropic.claude-3-5-sonnet-20241022-v2:0"


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.load()


@pytest.mark.parametrize(
    ("provider", "model", "expected"),
    [
        ("anthropic", "claude-3-5-sonnet-20241022", "anthropic/claude-3-5-sonnet"),
        ("anthropic", "claude-3-5-sonnet-latest", "anthropic/claude-3-5-sonnet"),
        ("claude", "claude-3-5-sonnet@20241022", "anthropic/claude-3-5-sonnet"),
        ("openai", "gpt-4o-2024-08-06", "openai/gpt-4o"),
        ("openai", "GPT-4o-mini-2024-07-18", "openai/gpt-4o-mini"),
        ("azure", "gpt-4o-2024-08-06", "azure/gpt-4o"),
        ("azure-openai", "gpt-4o", "azure/gpt-4o"),
        ("gemini", "gemini-2.5-pro", "google/gemini-2.5-pro"),
        ("vertex", "models/gemini-2.5-flash", "google/gemini-2.5-flash"),
        ("google", "publishers/google/models/gemini-2.0-flash-001", "google/gemini-2.0-flash"),
        ("bedrock", "anthropic.claude-3-5-sonnet-20241022-v2:0", BEDROCK_SONNET),
        ("aws", "us.anthropic.claude-3-5-sonnet-20241022-v2:0", BEDROCK_SONNET),
        ("aws", "apac.anthropic.claude-3-5-sonnet-20241022-v2:0", BEDROCK_SONNET),
        ("aws", "global.anthropic.claude-sonnet-4-5-20250929-v1:0",
         "aws/global.anthropic.claude-sonnet-4-5-20250929-v1:0"),
        ("aws", "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-3-5-sonnet-20241022-v2:0",
         BEDROCK_SONNET),
        ("aws", "us.amazon.nova-pro-v1:0", "aws/amazon.nova-pro-v1:0"),
        ("anthropic", "anthropic.claude-3-5-sonnet-20241022-v2:0", "anthropic/claude-3-5-sonnet"),
        ("xai", "grok-3-beta", "x-ai/grok-3"),
        ("grok", "grok-4", "x-ai/grok-4-0709"),
        ("mistral", "mistral-large-2411", "mistral/mistral-large"),
        ("openrouter", "anthropic/claude-3.5-sonnet", "openrouter/anthropic/claude-3.5-sonnet"),
        ("generic", "claude-3-5-sonnet-20241022", "anthropic/claude-3-5-sonnet"),
    ],
)
def test_ids_resolve(book: PriceBook, provider: str, model: str, expected: str) -> None:
    quote = book.quote(provider, model, TOKENS, AT)
    assert quote is not None, model
    assert quote.resolved_model == expected


def test_bedrock_keeps_regional_price_differences(book: PriceBook) -> None:
    # claude-sonnet-4-5 on Bedrock: $3 / $15 per MTok through the global profile, $3.30 / $16.50 regional
    global_quote = book.quote("aws", "global.anthropic.claude-sonnet-4-5-20250929-v1:0", TOKENS, AT)
    regional = book.quote("aws", "us.anthropic.claude-sonnet-4-5-20250929-v1:0", TOKENS, AT)
    assert global_quote is not None and regional is not None
    assert global_quote.breakdown.total == Decimal(3) + Decimal(15)
    assert regional.breakdown.total == Decimal("3.30") + Decimal("16.50")


def test_a_model_of_another_provider_is_not_priced_at_a_guess(book: PriceBook) -> None:
    assert book.quote("groq", "claude-3-5-sonnet-20241022", TOKENS, AT) is None


def test_variants_strip_one_layer_at_a_time() -> None:
    assert lookup_variants(" US.Anthropic.Claude-3-5-Haiku-20241022-v1:0 ") == (
        "us.anthropic.claude-3-5-haiku-20241022-v1:0",
        "us.anthropic.claude-3-5-haiku-20241022",
        "anthropic.claude-3-5-haiku-20241022",
        "anthropic.claude-3-5-haiku",
        "claude-3-5-haiku",
    )
    assert lookup_variants("models/gemini-2.5-flash") == ("models/gemini-2.5-flash", "gemini-2.5-flash")
    # an 8192 context suffix is not a date, a dotted version is not a vendor prefix
    assert lookup_variants("llama3-70b-8192") == ("llama3-70b-8192",)
    assert lookup_variants("gpt-4.1") == ("gpt-4.1",)
