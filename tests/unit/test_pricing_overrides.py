"""Operator and tenant overrides: resolution order, dates, versions, validation, reload."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from schemas import TokenUsage
from stream.pricing import OverridesError, PriceBook

M = Decimal(1_000_000)
AT = datetime(2026, 9, 1, tzinfo=UTC)
TOKENS = TokenUsage(input_tokens=3_000, cache_read_tokens=1_000, output_tokens=500)
# gpt-4o-mini list price: input $0.15, cached input $0.075, output $0.60 per MTok
LIST = 2_000 * Decimal("0.15") / M + 1_000 * Decimal("0.075") / M + 500 * Decimal("0.6") / M


def write(path: Path, entries: list[dict[str, object]]) -> Path:
    path.write_text(yaml.safe_dump({"overrides": entries}))
    return path


@pytest.fixture
def book(tmp_path: Path) -> PriceBook:
    return PriceBook.load(write(tmp_path / "prices.yaml", [
        {"model": "gpt-4o-mini", "provider": "openai", "multiplier": "1.2", "effective_from": "2026-07-01T00:00:00Z"},
        {"model": "gpt-4o-mini*", "tenant_id": "globex", "multiplier": "0.85",
         "effective_from": "2026-08-01T00:00:00Z", "effective_until": "2026-10-01T00:00:00Z"},
        {"model": "acme-ft-*", "effective_from": "2026-01-01T00:00:00Z",
         "rates": {"input": "0.30", "cache_read": "0.15", "output": "1.20", "per_request": "0.001"}},
        {"model": "acme-ft-*", "tenant_id": "initech", "effective_from": "2026-01-01T00:00:00Z",
         "rates": {"input": "0.25", "output": "1.00"}},
    ]))


def test_operator_markup_over_genai_prices(book: PriceBook) -> None:
    quote = book.quote("openai", "gpt-4o-mini-2024-07-18", TOKENS, AT, "acme")
    assert quote is not None and quote.price_source == "operator"
    assert quote.breakdown.total == LIST * Decimal("1.2")
    assert quote.price_version == f"{book.overrides.revision}@2026-07-01T00:00:00Z"
    before = book.quote("openai", "gpt-4o-mini", TOKENS, datetime(2026, 6, 30, tzinfo=UTC), "acme")
    assert before is not None and before.price_source == "genai-prices" and before.breakdown.total == LIST


def test_tenant_discount_applies_on_top_of_the_operator_price_within_its_dates(book: PriceBook) -> None:
    quote = book.quote("openai", "gpt-4o-mini", TOKENS, AT, "globex")
    assert quote is not None and quote.price_source == "tenant:globex"
    assert quote.breakdown.total == LIST * Decimal("1.2") * Decimal("0.85")
    assert quote.breakdown.input == 2_000 * Decimal("0.15") * Decimal("1.2") * Decimal("0.85") / M
    ended = book.quote("openai", "gpt-4o-mini", TOKENS, datetime(2026, 10, 1, tzinfo=UTC), "globex")
    assert ended is not None and ended.price_source == "operator"


def test_custom_models_with_explicit_rates(book: PriceBook) -> None:
    tokens = TokenUsage(input_tokens=2_000, cache_read_tokens=1_000, cache_write_tokens=500, output_tokens=100)
    quote = book.quote("openai", "acme-ft-v7", tokens, AT, "acme")
    assert quote is not None and quote.price_source == "operator"
    cost = quote.breakdown
    assert cost.input == 500 * Decimal("0.30") / M
    assert cost.cache_read == 1_000 * Decimal("0.15") / M
    assert cost.cache_write == 500 * Decimal("0.30") / M  # no cache-write rate: billed as input
    assert cost.output == 100 * Decimal("1.20") / M
    assert cost.other == Decimal("0.001")
    tenant = book.quote("openai", "acme-ft-v7", tokens, AT, "initech")
    assert tenant is not None and tenant.price_source == "tenant:initech"
    assert tenant.breakdown.total == 2_000 * Decimal("0.25") / M + 100 * Decimal(1) / M
    assert book.quote("openai", "acme-ft-v7", tokens, datetime(2025, 12, 31, tzinfo=UTC), "acme") is None


def test_a_discount_on_an_unknown_model_does_not_price_it(tmp_path: Path) -> None:
    book = PriceBook.load(write(tmp_path / "p.yaml", [
        {"model": "mystery-*", "tenant_id": "t", "multiplier": "0.5", "effective_from": "2026-01-01T00:00:00Z"},
    ]))
    assert book.quote("openai", "mystery-1", TOKENS, AT, "t") is None


def test_the_latest_entry_in_force_wins_within_a_layer(tmp_path: Path) -> None:
    book = PriceBook.load(write(tmp_path / "p.yaml", [
        {"model": "m", "effective_from": "2026-01-01T00:00:00Z", "rates": {"input": 1, "output": 1}},
        {"model": "m", "effective_from": "2026-06-01T00:00:00Z", "rates": {"input": 2, "output": 2}},
    ]))
    one_each = TokenUsage(input_tokens=1_000_000, output_tokens=1_000_000)
    early, late = (book.quote("x", "m", one_each, datetime(2026, month, 2, tzinfo=UTC)) for month in (3, 7))
    assert early is not None and early.breakdown.total == 2
    assert late is not None and late.breakdown.total == 4


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"model": "x", "effective_from": "2026-01-01T00:00:00Z", "multiplier": "0.9",
          "rates": {"input": 1, "output": 2}}, r"overrides\.0 \(model 'x'\): give exactly one of rates"),
        ({"model": "x", "effective_from": "yesterday", "multiplier": 1}, r"overrides\.0 \(model 'x'\)\.effective_from"),
        ({"model": "x", "effective_from": "2026-01-01T00:00:00", "multiplier": 1}, r"effective_from: .*timezone"),
        ({"model": "x", "tenant_id": "g", "effective_from": "2026-01-01T00:00:00Z", "multiplier": "-1"},
         r"overrides\.0 \(model 'x', tenant g\)\.multiplier"),
        ({"model": "x", "effective_from": "2026-01-01T00:00:00Z", "rates": {"input": 1}},
         r"overrides\.0 \(model 'x'\)\.rates\.output: Field required"),
        ({"model": "x", "effective_from": "2026-01-01T00:00:00Z", "rates": {"input": 1, "output": 1, "caching": 1}},
         r"rates\.caching: Extra inputs"),
        ({"model": "x", "effective_from": "2026-02-01T00:00:00Z", "effective_until": "2026-01-01T00:00:00Z",
          "multiplier": 1}, "effective_until must be after effective_from"),
    ],
)
def test_invalid_entries_are_rejected_naming_entry_and_field(
    tmp_path: Path, entry: dict[str, object], message: str
) -> None:
    with pytest.raises(OverridesError, match=message):
        PriceBook.load(write(tmp_path / "bad.yaml", [entry]))


def test_duplicate_entries_and_unreadable_files_are_rejected(tmp_path: Path) -> None:
    entry = {"model": "x", "effective_from": "2026-01-01T00:00:00Z", "multiplier": 1}
    with pytest.raises(OverridesError, match=r"overrides\.1 .*same model.*overrides\.0"):
        PriceBook.load(write(tmp_path / "dup.yaml", [entry, entry]))
    (tmp_path / "broken.yaml").write_text("overrides: [\n")
    with pytest.raises(OverridesError, match="cannot read"):
        PriceBook.load(tmp_path / "broken.yaml")


def test_reload_returns_a_new_book_and_leaves_the_old_one(tmp_path: Path) -> None:
    path = write(tmp_path / "p.yaml", [
        {"model": "m", "effective_from": "2026-01-01T00:00:00Z", "rates": {"input": 1, "output": 1}},
    ])
    old = PriceBook.load(path)
    write(path, [{"model": "m", "effective_from": "2026-01-01T00:00:00Z", "rates": {"input": 5, "output": 1}}])
    new = old.reload()
    tokens = TokenUsage(input_tokens=1_000_000)
    old_quote, new_quote = old.quote("x", "m", tokens, AT), new.quote("x", "m", tokens, AT)
    assert old_quote is not None and new_quote is not None
    assert old_quote.breakdown.total == 1 and new_quote.breakdown.total == 5
    assert old_quote.price_version != new_quote.price_version
