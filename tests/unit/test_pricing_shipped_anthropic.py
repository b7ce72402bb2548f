"""The shipped Anthropic API entries of the corrections layer, checked against the audit of the
pinned LiteLLM table and against the rates Anthropic states for them."""

from datetime import UTC, date, datetime
from decimal import Decimal

from schemas import TokenUsage
from stream.pricing import PriceBook
from stream.pricing.audit import Kind, Status, audit
from stream.pricing.litellm import LiteLLMTable

M = Decimal(1_000_000)
HAIKU_5_5 = "https://platform.claude.com/docs/en/models/haiku-5-5/overview"


def test_the_haiku_5_5_long_prompt_1h_cache_write_is_settled() -> None:
    book = PriceBook.load()
    report = audit(book, LiteLLMTable.load(), today=date(2026, 12, 2))
    haiku = [f for f in report.findings if f.kind is Kind.RATE and f.model == "anthropic/claude-haiku-5-5"]
    assert [(f.rate, f.status) for f in haiku] == [("cache_write_1h>100000", Status.RESOLVED)]
    assert HAIKU_5_5 in haiku[0].note
    # the resolution covers that one rate of that one id
    for rate in ("cache_write_1h", "input>100000", "cache_write_5m>100000"):
        assert book.corrections.resolution("anthropic", "anthropic/claude-haiku-5-5", "litellm",
                                           compared_id="claude-haiku-5-5", rate=rate) is None


def test_a_long_haiku_5_5_prompt_bills_1h_cache_writes_at_the_long_prompt_rate() -> None:
    # Claude Haiku 5.5 (platform.claude.com/docs/en/models/haiku-5-5/overview), per MTok, for prompts
    # over 100,000 tokens: input $0.50, 1h cache write $1, output $2.50; up to 100,000: $0.10, $0.20, $0.50
    book = PriceBook.load()
    at = datetime(2026, 11, 1, tzinfo=UTC)
    long = book.quote("anthropic", "claude-haiku-5-5", TokenUsage(
        input_tokens=150_000, cache_write_tokens=50_000, cache_write_1h_tokens=50_000, output_tokens=1_000), at)
    assert long is not None and long.price_source == "genai-prices"
    assert long.breakdown.total == (100_000 * Decimal("0.50") + 50_000 * Decimal(1) + 1_000 * Decimal("2.50")) / M
    short = book.quote("anthropic", "claude-haiku-5-5", TokenUsage(
        input_tokens=100_000, cache_write_tokens=50_000, cache_write_1h_tokens=50_000, output_tokens=1_000), at)
    assert short is not None
    assert short.breakdown.total == (50_000 * Decimal("0.10") + 50_000 * Decimal("0.20") + 1_000 * Decimal("0.50")) / M
