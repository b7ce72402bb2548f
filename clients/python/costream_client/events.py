"""Building a raw usage event, and its bytes on the wire."""

import json
import uuid
from collections.abc import Mapping
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from costream_client.validation import EventError, validate_event


def _default(value: object) -> object:
    if isinstance(value, Decimal):
        return format(value, "f")  # a plain decimal string: exact, never a float
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise EventError("occurred_at: Input should have timezone info")
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def usage_event(
    tenant_id: str,
    provider: str,
    model: str | None = None,
    *,
    response: Mapping[str, Any] | list[Any] | None = None,
    usage: Mapping[str, int] | None = None,
    api_flavor: str = "default",
    event_id: str | None = None,
    occurred_at: datetime | None = None,
    provider_cost_usd: Decimal | str | None = None,
    attributes: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """A ``RawUsageEvent`` as a dict: a new event id and the time now unless given.

    ``response`` is the provider's own JSON (a body, its usage object, or a list of
    stream chunks); ``usage`` instead gives canonical counts."""
    event: dict[str, Any] = {
        "event_id": event_id or str(uuid.uuid4()),
        "tenant_id": tenant_id,
        "occurred_at": (occurred_at or datetime.now(UTC)).isoformat(),
        "provider": provider,
        "api_flavor": api_flavor,
    }
    if model is not None:
        event["model"] = model
    if response is not None:
        event["response"] = response
    if usage is not None:
        event["usage"] = dict(usage)
    if provider_cost_usd is not None:
        event["provider_cost_usd"] = str(provider_cost_usd)
    if attributes:
        event["attributes"] = dict(attributes)
    return event


def encode_event(event: Mapping[str, Any], validate: bool = True) -> tuple[str, bytes]:
    """(tenant_id, JSON bytes) of ``event``; :class:`EventError` names what is wrong.

    The bytes are what is validated, so what is checked is what the worker reads."""
    try:
        data = json.dumps(event, default=_default, separators=(",", ":"), ensure_ascii=False).encode()
    except (TypeError, ValueError) as exc:
        if isinstance(exc, EventError):
            raise
        raise EventError(f"event: not JSON: {exc}") from None
    if validate:
        validate_event(json.loads(data))
    tenant = event.get("tenant_id")
    if not isinstance(tenant, str):  # only without validation
        raise EventError("tenant_id: Input should be a valid string")
    return tenant, data
