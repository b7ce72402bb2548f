"""The shipped Mistral corrections, each checked against rates stated here from Mistral's
own pages, and the audit of the shipped data against LiteLLM's table for Mistral."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from schemas import TokenUsage
from stream.pricing import PriceBook
from stream.pricing.audit import Kind, Status, audit
from stream.pricing.litellm import LiteLLMTable

M = Decimal(1_000_000)
# 1M prompt tokens of which 400k are served from cache, and 100k completion tokens.
TOKENS = TokenUsage(input_tokens=1_000_000, cache_read_tokens=400_000, output_tokens=100_000)
# Cached prompt tokens are billed at 10% of the input price
# (docs.mistral.ai/studio-api/conversations/advanced/prompt-caching), stated from 2026-05-07.
CACHED_FROM = datetime(2026, 5, 7, tzinfo=UTC)
BEFORE_CACHED = datetime(2026, 5, 6, tzinfo=UTC)
NOW = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.load()


def cost(input_rate: str, output_rate: str, cache_rate: str | None = None) -> Decimal:
    """TOKENS at the given USD/MTok rates; without a cache rate cache reads are billed as input."""
    cached = Decimal(cache_rate if cache_rate is not None else input_rate)
    return 600_000 * Decimal(input_rate) / M + 400_000 * cached / M + 100_000 * Decimal(output_rate) / M


def total(book: PriceBook, model: str, at: datetime) -> tuple[str, Decimal]:
    quote = book.quote("mistral", model, TOKENS, at)
    assert quote is not None
    return quote.price_source, quote.breakdown.total


@pytest.mark.parametrize(("model", "input_rate", "output_rate"), [
    # Codestral 25.08: $0.30 in, $0.90 out (docs.mistral.ai/models/codestral-25-08)
    ("codestral-latest", "0.3", "0.9"),
    # Magistral Medium 1.2, API names magistral-medium-2509 and magistral-medium-latest:
    # $2 in, $5 out (docs.mistral.ai/models/magistral-medium-1-2-25-09)
    ("magistral-medium-latest", "2", "5"),
    ("magistral-medium-2509", "2", "5"),
    # Magistral Small 1.2: $0.50 in, $1.50 out (docs.mistral.ai/models/magistral-small-1-2-25-09)
    ("magistral-small-latest", "0.5", "1.5"),
    ("magistral-small-2509", "0.5", "1.5"),
    # Mistral Nemo 12B 24.07: $0.15 in, $0.15 out (docs.mistral.ai/models/mistral-nemo-12b-24-07)
    ("open-mistral-nemo", "0.15", "0.15"),
    ("open-mistral-nemo-2407", "0.15", "0.15"),
    # Pixtral Large 24.11: $2 in, $6 out (docs.mistral.ai/models/pixtral-large-24-11)
    ("pixtral-large-latest", "2", "6"),
    ("pixtral-large-2411", "2", "6"),
    # Mistral Large 3: $0.50 in, $1.50 out (docs.mistral.ai/models/mistral-large-3-25-12)
    ("mistral-large-latest", "0.5", "1.5"),
    # Ministral 3 3B: $0.10 in, $0.10 out (docs.mistral.ai/models/ministral-3-3b-25-12)
    ("ministral-3b-latest", "0.1", "0.1"),
])
def test_cached_prompt_tokens_are_a_tenth_of_input_from_when_mistral_states_it(
    book: PriceBook, model: str, input_rate: str, output_rate: str,
) -> None:
    cache_rate = str(Decimal(input_rate) / 10)
    assert total(book, model, CACHED_FROM) == ("corrections", cost(input_rate, output_rate, cache_rate))
    assert total(book, model, NOW) == ("corrections", cost(input_rate, output_rate, cache_rate))
    # The day before, the same list price with cache reads billed as input.
    assert total(book, model, BEFORE_CACHED)[1] == cost(input_rate, output_rate)


def test_ministral_3b_latest_is_ministral_3_3b_from_its_release(book: PriceBook) -> None:
    # Ministral 3 3B (ministral-3b-2512, 2025-12-02): $0.10 in, $0.10 out (docs.mistral.ai/models/ministral-3-3b-25-12)
    released = datetime(2025, 12, 2, tzinfo=UTC)
    assert total(book, "ministral-3b-latest", released) == ("corrections", cost("0.1", "0.1"))
    # Ministral 3B 24.10 (ministral-3b-2410) before that: $0.04 in, $0.04 out
    day_before = datetime(2025, 12, 1, tzinfo=UTC)
    assert total(book, "ministral-3b-latest", day_before) == ("genai-prices", cost("0.04", "0.04"))


def test_mistral_large_latest_bills_cache_reads_as_input_before_the_cached_rate(book: PriceBook) -> None:
    # Mistral Large 3: $0.50 in, $1.50 out (mistral.ai/pricing); no cached rate stated yet
    assert total(book, "mistral-large-latest", datetime(2026, 1, 15, tzinfo=UTC)) == (
        "corrections", cost("0.5", "1.5"))


def test_a_dated_id_of_another_version_keeps_its_own_price(book: PriceBook) -> None:
    # magistral-medium-2506 is Magistral Medium 1.0, not an alias of the corrected 1.2 entry
    quote = book.quote("mistral", "magistral-medium-2506", TOKENS, NOW)
    assert quote is not None and quote.price_source == "genai-prices"
    # mistral-medium-2508 (Medium 3.1, $0.40 in, $2 out, $0.04 cached) is untouched by any correction
    quote = book.quote("mistral", "mistral-medium-2508", TOKENS, NOW)
    assert quote is not None and quote.price_source == "genai-prices"
    assert quote.breakdown.total == cost("0.4", "2", "0.04")


def test_the_audit_settles_the_mistral_disagreements_checked_on_mistrals_pages(book: PriceBook) -> None:
    report = audit(book, LiteLLMTable.load())
    mistral = [f for f in report.findings if f.provider == "mistral" and f.kind is Kind.RATE]
    resolved = {(f.compared_id, f.rate) for f in mistral if f.status is Status.RESOLVED}
    for rate in ("input", "output", "cache_read"):
        assert ("mistral/magistral-medium-latest", rate) in resolved
        assert ("mistral/magistral-small-latest", rate) in resolved
        assert ("mistral/open-mistral-nemo", rate) in resolved
    assert ("mistral/mistral-tiny", "cache_read") in resolved
    agreeing = {"mistral/codestral-latest", "mistral/ministral-3b-latest", "mistral/pixtral-large-latest",
                "mistral/mistral-large-latest"}
    assert not [f for f in mistral if f.compared_id in agreeing]
    # Left open: no Mistral page read prices devstral-small-latest's cached tokens (Devstral
    # Small 2 was retired before the cached rate was stated) or names a model for the bare
    # mistral-medium after Mistral Medium 1.0's retirement on 2025-06-16 (the exact entry for it
    # ends then, before LiteLLM's data date).
    unresolved = {(f.compared_id, f.rate) for f in mistral if f.status is Status.UNRESOLVED}
    assert unresolved == {
        ("mistral/devstral-small-latest", "cache_read"),
        ("mistral/mistral-medium", "input"), ("mistral/mistral-medium", "output"),
        ("mistral/mistral-medium", "cache_read"),
    }


# The bare mistral-medium is Mistral Medium 1.0 (mistral-medium-2312): $2.70 in, $8.10 out per MTok,
# no cached rate, on Mistral's price list of the 2024-02-26 release (the first with dollar prices;
# github.com/mistralai/platform-docs-public, docs/platform/05-pricing.md at b01d416), retired
# 2025-06-16 (docs.mistral.ai/models/mistral-medium-1-0-23-12).
MEDIUM_1_FROM = datetime(2024, 2, 26, tzinfo=UTC)
MEDIUM_1_RETIRED = datetime(2025, 6, 16, tzinfo=UTC)


def test_the_bare_mistral_medium_is_medium_1_while_mistral_served_it(book: PriceBook) -> None:
    medium_1 = cost("2.7", "8.1")  # cache reads billed as input
    assert total(book, "mistral-medium", MEDIUM_1_FROM) == ("corrections", medium_1)
    assert total(book, "mistral-medium", datetime(2024, 11, 1, tzinfo=UTC)) == ("corrections", medium_1)
    assert total(book, "mistral-medium", datetime(2025, 6, 15, 23, 59, 59, tzinfo=UTC)) == (
        "corrections", medium_1)
    assert total(book, "Mistral-Medium", datetime(2024, 11, 1, tzinfo=UTC)) == ("corrections", medium_1)
    # Outside those dates the data's price stays: before, Mistral priced the model in euros only;
    # after, requests to it fail.
    assert total(book, "mistral-medium", datetime(2024, 2, 25, 23, 59, 59, tzinfo=UTC))[0] == "genai-prices"
    assert total(book, "mistral-medium", MEDIUM_1_RETIRED)[0] == "genai-prices"


def test_longer_mistral_medium_ids_are_not_priced_by_the_bare_ids_entry(book: PriceBook) -> None:
    at = datetime(2024, 11, 1, tzinfo=UTC)  # the bare id's entry is in force
    for model in ("mistral-medium-latest", "mistral-medium-2508", "mistral-medium-2312"):
        assert total(book, model, at)[0] == "genai-prices", model
    # mistral-medium-2508 (Medium 3.1, $0.40 in, $2 out, $0.04 cached) keeps its price
    assert total(book, "mistral-medium-2508", at) == ("genai-prices", cost("0.4", "2", "0.04"))
    # mistral-medium-2312 is the same model as the bare id, priced so by the data: $2.70, $8.10
    assert total(book, "mistral-medium-2312", at) == ("genai-prices", cost("2.7", "8.1"))
