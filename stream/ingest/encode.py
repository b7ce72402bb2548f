"""The JSON the worker publishes: the document ``model_dump_json()`` gives, field for
field and in its order, at a fraction of its cost (the priced topic carries one message
per event).

Decimals are written as plain strings (``format(d, "f")``: never ``0E-18``), datetimes
as pydantic writes them (RFC 3339, ``Z`` for UTC). tests/unit/test_encode.py checks both
encoders against the models' own JSON and the exported JSON Schemas. Accepts the
models and the Structs of schemas.wire alike (the pipeline builds the latter).
"""

from decimal import Decimal
from typing import Any

import msgspec
import orjson

from schemas import DeadLetter, EventAttributes, PricedUsageEvent, TokenUsage
from schemas.wire import PricedEventStruct

_OPTIONS = orjson.OPT_UTC_Z
_struct_json = msgspec.json.Encoder().encode


def _plain(value: Decimal) -> str:
    text = str(value)  # plain already unless tiny or with a positive exponent
    return format(value, "f") if "E" in text else text


def _money(value: Decimal | None) -> str | None:
    if value is None:
        return None
    text = str(value)
    return format(value, "f") if "E" in text else text


def encode_priced_event(event: PricedUsageEvent) -> bytes:
    if type(event) is PricedEventStruct:
        # The pipeline's events are Structs all the way down, in the models' field order:
        # msgspec writes them whole, in C, unless a decimal needs its plain form.
        try:
            written = _struct_json(event)
        except TypeError:  # a model inside (tokens, costs or attributes built elsewhere)
            pass
        else:
            if b"E" not in written or not _has_exponent(event):
                return written
    try:
        return _encode_priced(event)
    except orjson.JSONEncodeError:  # an integer beyond 64 bits, which pydantic writes as is
        return PricedUsageEvent.model_validate(event, from_attributes=True).model_dump_json().encode()


def _encode_priced(event: PricedUsageEvent) -> bytes:
    cost = event.token_cost
    return orjson.dumps({
        "event_id": event.event_id,
        "tenant_id": event.tenant_id,
        "occurred_at": event.occurred_at,
        "ingested_at": event.ingested_at,
        "provider": event.provider,
        "api_flavor": event.api_flavor,
        "model": event.model,
        "resolved_model": event.resolved_model,
        "tokens": _fields(event.tokens),
        "token_cost": None if cost is None else {
            "input": _plain(cost.input),
            "cache_read": _plain(cost.cache_read),
            "cache_write": _plain(cost.cache_write),
            "output": _plain(cost.output),
            "reasoning": _plain(cost.reasoning),
            "other": _plain(cost.other),
            "total": _plain(cost.total),
        },
        "provider_cost_usd": _money(event.provider_cost_usd),
        "total_cost": _money(event.total_cost),
        "cost_drift_usd": _money(event.cost_drift_usd),
        "cache_savings_usd": _money(event.cache_savings_usd),
        "tracking_type": event.tracking_type.value,
        "priced": event.priced,
        "currency": event.currency,
        "price_source": event.price_source,
        "price_version": event.price_version,
        "attributes": _fields(event.attributes),
    }, option=_OPTIONS)


def _has_exponent(event: PricedUsageEvent) -> bool:
    """Whether str() of an amount (what msgspec writes) is in scientific notation."""
    cost = event.token_cost
    amounts = [event.provider_cost_usd, event.total_cost, event.cost_drift_usd, event.cache_savings_usd]
    if cost is not None:
        amounts += [cost.input, cost.cache_read, cost.cache_write, cost.output, cost.reasoning, cost.other, cost.total]
    return any(amount is not None and "E" in str(amount) for amount in amounts)


def _fields(model: TokenUsage | EventAttributes) -> object:
    """A nested part of a priced event: a Struct is written whole by msgspec (fields in the
    model's order, in C); a pydantic model field by field, in its declared order."""
    if isinstance(model, msgspec.Struct):
        return orjson.Fragment(_struct_json(model))
    return {name: getattr(model, name) for name in type(model).model_fields}


def encode_dead_letter(letter: DeadLetter) -> bytes:
    document: dict[str, Any] = {
        "original_b64": letter.original_b64,
        "original_truncated": letter.original_truncated,
        "original_size": letter.original_size,
        "original_key_b64": letter.original_key_b64,
        "topic": letter.topic,
        "partition": letter.partition,
        "offset": letter.offset,
        "batch_index": letter.batch_index,
        "event_id": letter.event_id,
        "tenant_id": letter.tenant_id,
        "error_type": letter.error_type,
        "error": letter.error,
        "dead_lettered_at": letter.dead_lettered_at,
    }
    # msgspec, not orjson: orjson's bytes keep its 4 KB starting buffer, and an envelope
    # of thousands of bad events has as many dead letters held at once
    try:
        return _struct_json(document)
    except (TypeError, OverflowError):
        return letter.model_dump_json().encode()
