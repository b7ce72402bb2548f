"""The shipped Amazon Bedrock entries of the corrections layer, checked against the audit of
the pinned LiteLLM table and against the provider's statements they rest on."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from schemas import TokenUsage
from stream.pricing import PriceBook
from stream.pricing.audit import Finding, Kind, Status, audit
from stream.pricing.litellm import LiteLLMTable

TIER_RATES = ("input>272000", "output>272000", "cache_read>272000")
# GPT-5.4 and GPT-5.5 have a 272K-token context window on Bedrock
# (docs.aws.amazon.com/bedrock/latest/userguide/model-card-openai-gpt-54.html, and AWS's guide to
# the OpenAI GPT-5.x models on Bedrock for GPT-5.5), so their >272K tier cannot apply there.
BEDROCK_272K = {
    "openai.gpt-5.4": "https://docs.aws.amazon.com/bedrock/latest/userguide/model-card-openai-gpt-54.html",
    "openai.gpt-5.5": "https://aws-solutions-library-samples.github.io/accelerated-intelligent-document-processing-on-aws/openai-models/",
}


@pytest.fixture(scope="module")
def book() -> PriceBook:
    return PriceBook.load()


@pytest.fixture(scope="module")
def findings(book: PriceBook) -> list[Finding]:
    return audit(book, LiteLLMTable.load(), today=date(2026, 12, 2)).findings


@pytest.mark.parametrize("model", sorted(BEDROCK_272K))
@pytest.mark.parametrize("profile", ["global", "us"])
def test_the_long_context_tier_of_gpt_5_on_bedrock_is_settled(
    findings: list[Finding], model: str, profile: str
) -> None:
    compared = f"{profile}.{model}"
    tier = {f.rate: f for f in findings
            if f.kind is Kind.RATE and f.provider == "aws" and f.compared_id == compared and f.rate in TIER_RATES}
    assert sorted(tier) == sorted(TIER_RATES)
    for finding in tier.values():
        assert finding.status is Status.RESOLVED
        assert finding.model == f"aws/{model}"
        assert BEDROCK_272K[model] in finding.note


@pytest.mark.parametrize("model", sorted(BEDROCK_272K))
def test_the_gpt_5_resolutions_cover_only_the_tier_of_the_bedrock_profiles(book: PriceBook, model: str) -> None:
    corrections = book.corrections
    found = corrections.resolution("aws", f"aws/{model}", "litellm", compared_id=f"global.{model}",
                                   rate="input>272000")
    assert found is not None and found.source.unicode_string() == BEDROCK_272K[model]
    # the base rates of the us. id, and the tier of any other id, are not settled by it
    for rate in ("input", "output", "cache_read"):
        assert corrections.resolution("aws", f"aws/{model}", "litellm", compared_id=f"us.{model}",
                                      rate=rate) is None
    assert corrections.resolution("aws", f"aws/{model}", "litellm", compared_id=model.removeprefix("openai."),
                                  rate="input>272000") is None


@pytest.mark.parametrize("model", ["us.openai.gpt-5.4", "us.openai.gpt-5.5"])
def test_a_request_at_the_bedrock_context_limit_is_billed_at_the_base_rates(book: PriceBook, model: str) -> None:
    # nothing on Bedrock can exceed 272K input tokens: the whole window is billed at one rate
    at = datetime(2026, 11, 20, tzinfo=UTC)
    small = book.quote("aws", model, TokenUsage(input_tokens=1_000, output_tokens=1_000), at)
    full = book.quote("aws", model, TokenUsage(input_tokens=272_000, output_tokens=272_000), at)
    assert small is not None and full is not None
    assert full.breakdown.total == 272 * small.breakdown.total


GPT_5_IN_REGION_ONLY = (
    "https://aws-solutions-library-samples.github.io/accelerated-intelligent-document-processing-on-aws/openai-models/"
)


@pytest.mark.parametrize("model", sorted(BEDROCK_272K))
def test_the_global_profile_of_gpt_5_is_settled_as_one_bedrock_does_not_offer(
    findings: list[Finding], book: PriceBook, model: str
) -> None:
    # AWS's guide: GPT-5.4 and GPT-5.5 have no geographic or global cross-Region profiles;
    # the in-Region price is $2.75 in / $0.275 cached / $16.50 out (5.4), twice that (5.5)
    base = {f.rate: f for f in findings if f.kind is Kind.RATE and f.compared_id == f"global.{model}"
            and f.rate in ("input", "output", "cache_read")}
    assert sorted(base) == ["cache_read", "input", "output"]
    assert all(f.status is Status.RESOLVED and GPT_5_IN_REGION_ONLY in f.note for f in base.values())
    scale = 2 if model.endswith("5.5") else 1
    quote = book.quote("aws", model, TokenUsage(input_tokens=1_000_000, cache_read_tokens=200_000,
                                                output_tokens=100_000), datetime(2026, 11, 20, tzinfo=UTC))
    assert quote is not None
    expected = (800_000 * Decimal("2.75") + 200_000 * Decimal("0.275") + 100_000 * Decimal("16.5")) / 1_000_000
    assert quote.breakdown.total == expected * scale
