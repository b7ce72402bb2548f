"""diff_books: rates added, removed and changed, per model and source."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import yaml

from stream.pricing import ChangeKind, PriceBook, RateChange, diff_books

AT = datetime(2026, 9, 1, tzinfo=UTC)


def book_with(tmp_path: Path, name: str, entries: list[dict[str, object]]) -> PriceBook:
    path = tmp_path / name
    path.write_text(yaml.safe_dump({"overrides": entries}))
    return PriceBook.load(path)


def test_override_changes_are_listed_rate_by_rate(tmp_path: Path) -> None:
    old = book_with(tmp_path, "old.yaml", [
        {"model": "acme-ft", "effective_from": "2026-01-01T00:00:00Z", "rates": {"input": "0.30", "output": "1.20"}},
        {"model": "gpt-4o*", "tenant_id": "globex", "multiplier": "0.9", "effective_from": "2026-01-01T00:00:00Z"},
    ])
    new = book_with(tmp_path, "new.yaml", [
        {"model": "acme-ft", "effective_from": "2026-01-01T00:00:00Z",
         "rates": {"input": "0.25", "output": "1.20", "cache_read": "0.10"}},
        {"model": "claude-*", "provider": "anthropic", "multiplier": "1.1", "effective_from": "2026-01-01T00:00:00Z"},
    ])
    changes = diff_books(old, new, AT)
    assert RateChange(ChangeKind.CHANGED, "operator", "*", "acme-ft", "input", Decimal("0.30"), Decimal("0.25")) \
        in changes
    # cache reads were billed as input (0.30), now at their own 0.10
    assert RateChange(ChangeKind.CHANGED, "operator", "*", "acme-ft", "cache_read", Decimal("0.30"),
                      Decimal("0.10")) in changes
    assert RateChange(ChangeKind.REMOVED, "tenant:globex", "*", "gpt-4o*", "multiplier", Decimal("0.9"), None) \
        in changes
    assert RateChange(ChangeKind.ADDED, "operator", "anthropic", "claude-*", "multiplier", None, Decimal("1.1")) \
        in changes
    assert not any(change.rate == "output" for change in changes)  # unchanged rates are not listed
    assert all(change.source != "genai-prices" for change in changes)  # same data snapshot


def test_entries_not_yet_in_force_are_not_in_the_diff(tmp_path: Path) -> None:
    old = PriceBook.load()
    new = book_with(tmp_path, "later.yaml", [
        {"model": "m", "effective_from": "2027-01-01T00:00:00Z", "rates": {"input": 1, "output": 1}},
    ])
    assert diff_books(old, new, AT) == []
    assert len(diff_books(old, new, datetime(2027, 1, 1, tzinfo=UTC))) > 0


def test_identical_books_have_no_diff() -> None:
    assert diff_books(PriceBook.load(), PriceBook.load(), AT) == []


def test_genai_prices_changes_between_data_snapshots() -> None:
    import copy

    from genai_prices.data_snapshot import DataSnapshot, get_snapshot
    from genai_prices.types import ModelPrice

    providers = copy.deepcopy([p for p in get_snapshot().providers if p.id == "mistral"])
    (model,) = [m for m in providers[0].models if m.id == "mistral-large"]
    assert isinstance(model.prices, ModelPrice)
    setattr(model.prices, "input_mtok", Decimal("1.5"))  # noqa: B010  (was $2/MTok)
    old = PriceBook.load(snapshot=DataSnapshot(providers=[p for p in get_snapshot().providers if p.id == "mistral"],
                                               from_auto_update=False))
    new = PriceBook.load(snapshot=DataSnapshot(providers=providers, from_auto_update=True))
    changes = diff_books(old, new, AT)
    # mistral-large has no cache rates of its own: cache tokens are billed at the input rate, which moved
    assert changes == [
        RateChange(ChangeKind.CHANGED, "genai-prices", "mistral", "mistral-large", rate, Decimal(2), Decimal("1.5"))
        for rate in ("cache_read", "cache_write_1h", "cache_write_5m", "input")
    ]
    assert new.genai_version.startswith(old.genai_version + "+")
