"""The corrections layer: between genai-prices and the overrides, with dates, tiers,
provenance, the shipped files, and validation."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from schemas import TokenUsage
from stream.pricing import PriceBook
from stream.pricing.corrections import DATA_DIR, Corrections, CorrectionsError

M = Decimal(1_000_000)
SOURCE = "https://example.com/pricing"


def corrections(tmp_path: Path, entries: list[dict[str, object]]) -> Corrections:
    (tmp_path / "x.yaml").write_text(yaml.safe_dump({"corrections": entries}))
    return Corrections.load(tmp_path)


def entry(**fields: object) -> dict[str, object]:
    return {"provider": "openai", "model": "gpt-4o-mini", "effective_from": "2026-03-01T00:00:00Z",
            "rates": {"input": "0.10", "cache_read": "0.02", "output": "0.40"}, "source": SOURCE,
            "checked": "2026-12-01", **fields}


TOKENS = TokenUsage(input_tokens=3_000, cache_read_tokens=1_000, output_tokens=500)
# gpt-4o-mini list price in genai-prices: input $0.15, cached input $0.075, output $0.60 per MTok
LIST = 2_000 * Decimal("0.15") / M + 1_000 * Decimal("0.075") / M + 500 * Decimal("0.6") / M
CORRECTED = 2_000 * Decimal("0.10") / M + 1_000 * Decimal("0.02") / M + 500 * Decimal("0.40") / M


def test_a_correction_prices_from_its_date_and_the_data_before(tmp_path: Path) -> None:
    book = PriceBook(corrections=corrections(tmp_path, [entry()]))
    after = book.quote("openai", "gpt-4o-mini", TOKENS, datetime(2026, 3, 1, tzinfo=UTC))
    assert after is not None and after.price_source == "corrections"
    assert after.breakdown.total == CORRECTED
    assert after.price_version == f"{book.corrections.revision}@2026-03-01T00:00:00Z"
    before = book.quote("openai", "gpt-4o-mini", TOKENS, datetime(2026, 2, 28, 23, 59, tzinfo=UTC))
    assert before is not None and before.price_source == "genai-prices" and before.breakdown.total == LIST


def test_effective_until_hands_back_to_the_data(tmp_path: Path) -> None:
    book = PriceBook(corrections=corrections(tmp_path, [entry(effective_until="2026-04-01T00:00:00Z")]))
    ended = book.quote("openai", "gpt-4o-mini", TOKENS, datetime(2026, 4, 1, tzinfo=UTC))
    assert ended is not None and ended.price_source == "genai-prices" and ended.breakdown.total == LIST


def test_aliases_match_and_a_dated_correction_is_not_one_for_the_base_id(tmp_path: Path) -> None:
    book = PriceBook(corrections=corrections(tmp_path, [
        entry(model="gpt-4o-mini-2024-07-18", aliases=["my-mini"]),
    ]))
    at = datetime(2026, 5, 1, tzinfo=UTC)
    alias = book.quote("openai", "my-mini", TOKENS, at)
    assert alias is not None and alias.price_source == "corrections" and alias.breakdown.total == CORRECTED
    base = book.quote("openai", "gpt-4o-mini", TOKENS, at)
    assert base is not None and base.price_source == "genai-prices"
    other_provider = book.quote("azure", "gpt-4o-mini-2024-07-18", TOKENS, at)
    assert other_provider is not None and other_provider.price_source == "genai-prices"


def test_an_exact_correction_prices_only_the_id_as_sent(tmp_path: Path) -> None:
    book = PriceBook(corrections=corrections(tmp_path, [entry(exact=True)]))
    at = datetime(2026, 5, 1, tzinfo=UTC)
    sent = book.quote("openai", "gpt-4o-mini", TOKENS, at)
    assert sent is not None and sent.price_source == "corrections" and sent.breakdown.total == CORRECTED
    # a dated id shortens to gpt-4o-mini; without exact the correction would price it too
    longer = book.quote("openai", "gpt-4o-mini-2024-07-18", TOKENS, at)
    assert longer is not None and longer.price_source == "genai-prices" and longer.breakdown.total == LIST
    # a router prefix is another spelling of the same id, not a longer id
    routed = book.quote("openai", "openai/gpt-4o-mini", TOKENS, at)
    assert routed is not None and routed.price_source == "corrections" and routed.breakdown.total == CORRECTED
    loose = PriceBook(corrections=corrections(tmp_path, [entry()]))
    widened = loose.quote("openai", "gpt-4o-mini-2024-07-18", TOKENS, at)
    assert widened is not None and widened.price_source == "corrections"


def test_a_correction_can_add_a_model_the_data_does_not_know(tmp_path: Path) -> None:
    book = PriceBook(corrections=corrections(tmp_path, [entry(model="acme-new-model", provider="mistral")]))
    quote = book.quote("mistral", "acme-new-model", TOKENS, datetime(2026, 5, 1, tzinfo=UTC))
    assert quote is not None and quote.resolved_model == "mistral/acme-new-model"
    assert quote.breakdown.total == CORRECTED


def test_tiers_bill_every_token_of_a_long_request(tmp_path: Path) -> None:
    book = PriceBook(corrections=corrections(tmp_path, [entry(
        model="acme-long", rates={"input": "3", "output": "15", "cache_write": "3.75", "cache_write_1h": "6"},
        tiers=[{"above": 200_000, "input": "6", "output": "22.5"}],
    )]))
    at = datetime(2026, 5, 1, tzinfo=UTC)
    short = book.quote("openai", "acme-long", TokenUsage(input_tokens=200_000, output_tokens=1_000), at)
    assert short is not None and short.breakdown.total == 200_000 * Decimal(3) / M + 1_000 * Decimal(15) / M
    long = book.quote("openai", "acme-long", TokenUsage(input_tokens=200_001, output_tokens=1_000), at)
    assert long is not None and long.breakdown.total == 200_001 * Decimal(6) / M + 1_000 * Decimal("22.5") / M
    writes = book.quote("openai", "acme-long", TokenUsage(
        input_tokens=10_000, cache_write_tokens=4_000, cache_write_1h_tokens=1_000, output_tokens=0), at)
    assert writes is not None
    assert writes.breakdown.cache_write == 3_000 * Decimal("3.75") / M + 1_000 * Decimal(6) / M


def test_operator_and_tenant_overrides_stay_above_corrections(tmp_path: Path) -> None:
    overrides = tmp_path / "overrides.yaml"
    overrides.write_text(yaml.safe_dump({"overrides": [
        {"model": "gpt-4o-mini", "tenant_id": "globex", "multiplier": "0.5", "effective_from": "2026-01-01T00:00:00Z"},
    ]}))
    folder = tmp_path / "corrections"
    folder.mkdir()
    book = PriceBook.load(overrides, corrections=corrections(folder, [entry()]))
    quote = book.quote("openai", "gpt-4o-mini", TOKENS, datetime(2026, 5, 1, tzinfo=UTC), "globex")
    assert quote is not None and quote.price_source == "tenant:globex"
    assert quote.breakdown.total == CORRECTED * Decimal("0.5")


@pytest.mark.parametrize(("fields", "named"), [
    ({"rates": {"input": "-1", "output": "1"}}, "corrections.0 (model 'gpt-4o-mini', provider openai).rates.input"),
    ({"source": "not a url"}, "source"),
    ({"checked": None}, "checked"),
    ({"effective_until": "2026-01-01T00:00:00Z"}, "effective_until must be after effective_from"),
])
def test_an_invalid_entry_is_refused_with_its_field_named(
    tmp_path: Path, fields: dict[str, object], named: str
) -> None:
    with pytest.raises(CorrectionsError, match=r"x\.yaml") as raised:
        corrections(tmp_path, [entry(**fields)])
    assert named in str(raised.value)


def test_two_entries_for_the_same_model_and_date_are_ambiguous(tmp_path: Path) -> None:
    with pytest.raises(CorrectionsError, match="ambiguous"):
        corrections(tmp_path, [entry(), entry(model="other", aliases=["gpt-4o-mini"])])


def test_every_shipped_entry_names_its_source_and_check_date() -> None:
    shipped = Corrections.load(DATA_DIR)
    assert shipped.entries, "the repository ships corrections"
    for correction in shipped.entries:
        assert correction.entry.source.scheme == "https" and correction.entry.checked.year >= 2026
    for resolution in shipped.resolutions:
        assert resolution.source.scheme == "https" and resolution.reason


# Shipped corrections, each checked against rates stated here from the provider's page.
def test_mistral_large_latest_is_large_3_from_its_release() -> None:
    book = PriceBook.load()
    tokens = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    # Mistral Large 3 (2025-12-02): $0.50 in, $1.50 out per MTok (mistral.ai/pricing)
    now = book.quote("mistral", "mistral-large-latest", tokens, datetime(2026, 6, 1, tzinfo=UTC))
    assert now is not None and now.price_source == "corrections" and now.breakdown.total == Decimal("2.0")
    # Mistral Large 2 before that: $2 in, $6 out per MTok
    before = book.quote("mistral", "mistral-large-latest", tokens, datetime(2025, 12, 1, tzinfo=UTC))
    assert before is not None and before.price_source == "genai-prices" and before.breakdown.total == Decimal(8)


def test_a_router_prefixed_dated_id_keeps_its_snapshot_price() -> None:
    # gpt-4o-2024-05-13: $5 in, $15 out per MTok; gpt-4o (later snapshots): $2.50 / $10
    book = PriceBook.load()
    tokens = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    quote = book.quote("azure", "azure/gpt-4o-2024-05-13", tokens, datetime(2026, 6, 1, tzinfo=UTC))
    assert quote is not None and quote.breakdown.total == Decimal(20)
