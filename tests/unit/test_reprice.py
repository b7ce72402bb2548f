"""Pricing a stored event again (pure): the rates are the ones stated here."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from schemas import EventAttributes, PricedUsageEvent, TokenUsage, TrackingType
from stream.pricing import Overrides, PriceBook
from stream.reprice.run import RepriceRequest, price_label, repriced

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
BOOK = PriceBook(Overrides.parse({"overrides": [
    {"provider": "openai", "model": "house-model", "effective_from": "2026-01-01T00:00:00Z",
     "rates": {"input": "4", "cache_read": "1", "output": "20"}},
]}, "r1"))  # fmt: skip


def stored(model: str, provider_cost: Decimal | None = None) -> PricedUsageEvent:
    return PricedUsageEvent(
        event_id="e1", tenant_id="t", occurred_at=AT, ingested_at=AT + timedelta(seconds=1), provider="openai",
        api_flavor="chat", model=model, resolved_model=None,
        tokens=TokenUsage(input_tokens=3_000, cache_read_tokens=1_000, output_tokens=500), token_cost=None,
        provider_cost_usd=provider_cost, total_cost=provider_cost, cost_drift_usd=None,
        tracking_type=TrackingType.PROVIDER_COST if provider_cost is not None else TrackingType.UNPRICED,
        priced=provider_cost is not None, price_source=None, price_version=None, attributes=EventAttributes(),
    )  # fmt: skip


def test_an_event_unpriced_at_ingestion_gets_the_price_now_in_force() -> None:
    later = AT + timedelta(days=1)
    new = repriced(stored("house-model"), BOOK, later)
    # 2,000 uncached input at $4, 1,000 cache reads at $1, 500 output at $20 per MTok
    expected = (Decimal(2_000) * 4 + Decimal(1_000) * 1 + Decimal(500) * 20) / 1_000_000
    assert (new.total_cost, new.tracking_type, new.priced) == (expected, TrackingType.TOKENS, True)
    assert (new.price_source, new.price_version) == ("operator", "r1@2026-01-01T00:00:00Z")
    assert new.ingested_at == later and new.event_id == "e1" and new.occurred_at == AT
    assert price_label(new) == "operator r1@2026-01-01T00:00:00Z"


def test_an_unknown_model_stays_unpriced_and_a_reported_cost_stays_the_cost_of_record() -> None:
    unknown = repriced(stored("no-such-model-anywhere"), BOOK, AT)
    assert (unknown.priced, unknown.total_cost, unknown.token_cost) == (False, None, None)
    assert price_label(unknown) == "unpriced"
    reported = repriced(stored("house-model", Decimal("0.5")), BOOK, AT)
    token = (Decimal(2_000) * 4 + Decimal(1_000) + Decimal(500) * 20) / 1_000_000
    assert (reported.tracking_type, reported.total_cost) == (TrackingType.PROVIDER_COST, Decimal("0.5"))
    assert reported.cost_drift_usd == Decimal("0.5") - token


@pytest.mark.parametrize(("body", "error"), [
    ({}, "since is required"),
    ({"since": "soon"}, "since:"),
    ({"since": "2026-05-02", "until": "2026-05-01"}, "until must be after since"),
    ({"since": "2026-05-01", "tenant": ""}, "tenant:"),
    ({"since": "2026-05-01", "dry_run": "yes"}, "dry_run"),
    ({"since": "2026-05-01", "tenants": "a"}, "unknown field 'tenants'"),
    ([], "expected a JSON object"),
])  # fmt: skip
def test_a_bad_request_names_the_field(body: object, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        RepriceRequest.from_json(body)


def test_a_request_reads_times_like_reports_do() -> None:
    request = RepriceRequest.from_json({"since": "2026-05-01", "until": "2026-05-02T06:00:00Z", "model": "m"})
    assert (request.since, request.until) == (datetime(2026, 5, 1, tzinfo=UTC), datetime(2026, 5, 2, 6, tzinfo=UTC))
    assert (request.tenant, request.model, request.dry_run) == (None, "m", False)
