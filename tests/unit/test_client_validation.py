"""The client checks events against the exported JSON Schema, and says what is wrong in
the worker's words (its dead letters' reasons, from the pydantic models)."""

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from costream_client import EventError, encode_event, event_errors, usage_event, validate_event
from costream_client.validation import raw_event_schema
from schemas import RawUsageEvent
from schemas.export import rendered
from stream.ingest.errors import describe_validation_error

GOOD: dict[str, Any] = {
    "event_id": "e-1", "tenant_id": "acme", "occurred_at": "2026-11-20T10:15:00Z", "provider": "openai",
    "model": "gpt-4o-mini", "usage": {"input_tokens": 10, "output_tokens": 2}, "attributes": {"feature": "chat"},
}  # fmt: skip


def worker_reasons(event: dict[str, Any]) -> list[str]:
    try:
        RawUsageEvent.model_validate(event)
    except ValidationError as exc:
        return describe_validation_error(exc).split("; ")
    return []


def test_the_client_ships_the_exported_schema_itself() -> None:
    exported = next(text for path, text in rendered().items() if path.name == "RawUsageEvent.schema.json")
    shipped = Path(__file__).parents[2] / "clients/python/costream_client/schema/RawUsageEvent.schema.json"
    assert shipped.is_symlink(), "one definition: the client's schema is a link to schemas/json"
    assert raw_event_schema() == __import__("json").loads(exported)


def changed(**fields: Any) -> dict[str, Any]:
    event = {**GOOD, **fields}
    return {k: v for k, v in event.items() if v is not ...}


@pytest.mark.parametrize("event", [
    changed(tenant_id=...),
    changed(event_id=..., provider=...),
    changed(surprise=1),
    changed(occurred_at="2026-11-20T10:15:00"),
    changed(event_id=""),
    changed(tenant_id="t" * 300),
    changed(provider=7),
    changed(usage={"input_tokens": 10, "output_tokens": -2}),
    changed(usage={"input_tokens": 10, "output_tokens": 2, "cached": 1}),
    changed(usage={"input_tokens": 10**9, "output_tokens": 2}),
    changed(attributes={"latency_ms": -1}),
    changed(attributes={"feature": "f" * 600}),
    changed(attributes={"tags": {f"k{n}": "v" for n in range(65)}}),
    changed(attributes={"colour": "red"}),
    changed(attributes={"feature": 3}),
    changed(response=7),
])  # fmt: skip
def test_a_bad_event_gets_the_reasons_the_worker_gives(event: dict[str, Any]) -> None:
    expected = worker_reasons(event)
    assert expected, "the worker refuses it"
    assert sorted(event_errors(event)) == sorted(expected)
    with pytest.raises(EventError) as refused:
        validate_event(event)
    assert sorted(str(refused.value).split("; ")) == sorted(expected)


def test_a_good_event_passes_both() -> None:
    assert worker_reasons(GOOD) == [] and event_errors(GOOD) == []


def test_usage_event_builds_a_valid_event_with_exact_cost() -> None:
    event = usage_event("acme", "anthropic", "claude-sonnet-4-5", response={"usage": {"input_tokens": 3}},
                        provider_cost_usd=Decimal("0.000123456789012345"),
                        occurred_at=datetime(2026, 11, 20, tzinfo=UTC), attributes={"feature": "x"})  # fmt: skip
    tenant, data = encode_event(event)
    assert tenant == "acme" and b'"provider_cost_usd":"0.000123456789012345"' in data
    assert RawUsageEvent.model_validate_json(data).provider_cost_usd == Decimal("0.000123456789012345")


def test_a_naive_datetime_is_refused_before_it_is_sent() -> None:
    event = {**GOOD, "occurred_at": datetime(2026, 11, 20)}
    with pytest.raises(EventError, match="occurred_at: Input should have timezone info"):
        encode_event(event)
