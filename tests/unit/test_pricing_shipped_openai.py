"""The shipped OpenAI corrections, each checked against rates stated here from OpenAI's own
page, and the audit of the shipped data for the disagreements they settle."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from schemas import TokenUsage
from stream.pricing import PriceBook
from stream.pricing.audit import Kind, Status, audit
from stream.pricing.litellm import LiteLLMTable

M = Decimal(1_000_000)
# input_tokens counts every prompt token, cache reads included
TOKENS = TokenUsage(input_tokens=30_000, cache_read_tokens=20_000, output_tokens=2_000)
UNCACHED = 10_000
CACHING_LAUNCH = datetime(2024, 10, 1, tzinfo=UTC)
CHECKED = date(2026, 12, 2)  # the audit skips ids the table deprecates by this day


@pytest.mark.parametrize("model_id", [
    "ft:gpt-4o-2024-08-06",
    "ft:gpt-4o-2024-08-06:acme::9AbCdEf1",  # a fine-tuned model's id as the API reports it
])
def test_gpt_4o_fine_tunes_bill_cached_input_at_half_the_input_rate(model_id: str) -> None:
    book = PriceBook.load()
    # GPT-4o fine-tuning: $3.75 uncached input, $1.875 cached input, $15 output per MTok
    # (openai.com/index/api-prompt-caching/, 2024-10-01)
    since = book.quote("openai", model_id, TOKENS, datetime(2026, 6, 1, tzinfo=UTC))
    assert since is not None and since.price_source == "corrections"
    assert since.breakdown.total == (
        UNCACHED * Decimal("3.75") / M + 20_000 * Decimal("1.875") / M + 2_000 * Decimal(15) / M)
    # before prompt caching there was no cached rate: every input token at $3.75
    before = book.quote("openai", model_id, TOKENS, datetime(2024, 9, 30, tzinfo=UTC))
    assert before is not None and before.price_source == "genai-prices"
    assert before.breakdown.total == 30_000 * Decimal("3.75") / M + 2_000 * Decimal(15) / M


def test_gpt_4o_mini_fine_tunes_bill_cached_input_at_half_the_input_rate() -> None:
    book = PriceBook.load()
    # GPT-4o mini fine-tuning: $0.30 uncached input, $0.15 cached input, $1.20 output per MTok
    # (openai.com/index/api-prompt-caching/, 2024-10-01)
    since = book.quote("openai", "ft:gpt-4o-mini-2024-07-18:acme::9AbCdEf1", TOKENS, CACHING_LAUNCH)
    assert since is not None and since.price_source == "corrections"
    assert since.breakdown.total == (
        UNCACHED * Decimal("0.3") / M + 20_000 * Decimal("0.15") / M + 2_000 * Decimal("1.2") / M)
    before = book.quote("openai", "ft:gpt-4o-mini-2024-07-18", TOKENS, datetime(2024, 9, 30, tzinfo=UTC))
    assert before is not None and before.price_source == "genai-prices"
    assert before.breakdown.total == 30_000 * Decimal("0.3") / M + 2_000 * Decimal("1.2") / M


def test_gpt_4o_fine_tunes_have_no_cache_write_rate_of_their_own() -> None:
    # OpenAI's table lists uncached input, cached input and output only: a cache write is input
    quote = PriceBook.load().quote("openai", "ft:gpt-4o-2024-11-20", TokenUsage(
        input_tokens=10_000, cache_write_tokens=4_000, output_tokens=0), datetime(2026, 6, 1, tzinfo=UTC))
    assert quote is not None and quote.price_source == "corrections"
    assert quote.breakdown.total == 10_000 * Decimal("3.75") / M


def test_the_audit_settles_the_fine_tune_cached_rates() -> None:
    report = audit(PriceBook.load(), LiteLLMTable.load(), today=CHECKED)
    found = {(f.compared_id, f.rate): f.status for f in report.findings
             if f.provider == "openai" and f.kind in (Kind.RATE, Kind.CITED)}
    # the corrected cached rates now agree with the table, so they are no longer findings
    assert ("ft:gpt-4o-2024-08-06", "cache_read") not in found
    assert ("ft:gpt-4o-mini-2024-07-18", "cache_read") not in found
    # the table's "cache creation" rate for this fine-tune is a cached-read rate OpenAI does not
    # charge for writes: the correction keeps writes at the input rate
    assert found[("ft:gpt-4o-2024-11-20", "cache_write_5m")] is Status.RESOLVED
    unresolved = {key for key, status in found.items() if status is Status.UNRESOLVED}
    assert not {key for key in unresolved if key[0].startswith("ft:")}
