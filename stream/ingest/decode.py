"""Bytes from the raw topic -> validated :class:`RawUsageEvent` s, or dead letters.

A message is one event (a JSON object) or a batch envelope (``{"events": [...]}``). Each
event in a batch is validated on its own: one bad event dead-letters alone.
"""

import base64
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import msgspec
import orjson
from pydantic import ValidationError

from schemas import DeadLetter, RawUsageEvent, UsageBatch
from schemas.limits import MAX_ID_CHARS, MAX_MESSAGE_BYTES
from schemas.wire import BatchStruct, RawEventStruct, has_sub_microsecond, struct_for
from stream.ingest.errors import describe_validation_error


@dataclass(frozen=True, slots=True)
class SourceMessage:
    """Where a message came from: kept so a dead letter points back at it."""

    value: bytes
    key: bytes | None
    topic: str
    partition: int
    offset: int


@dataclass(slots=True)  # not frozen: a frozen dataclass costs three times as much to build, per event
class DecodedEvent:
    event: RawEventStruct
    """Validated; attributes and usage are Structs (see :func:`attributes_model`)."""
    source: SourceMessage
    batch_index: int | None


def dead_letter(
    source: SourceMessage,
    error_type: str,
    error: str,
    now: datetime,
    batch_index: int | None = None,
    item: Any = None,
) -> DeadLetter:
    """``batch_index``: the refused event's place in an envelope, whose own bytes are
    then the original (see ``DeadLetter.original_b64``)."""

    def text_field(name: str) -> str | None:
        value = item.get(name) if isinstance(item, dict) else None
        return value[:MAX_ID_CHARS] if isinstance(value, str) else None

    original = source.value if batch_index is None else envelope_event_bytes(source.value, batch_index)
    return DeadLetter(
        original_b64=base64.b64encode(original).decode("ascii"),
        original_key_b64=base64.b64encode(source.key).decode("ascii") if source.key is not None else None,
        topic=source.topic,
        partition=source.partition,
        offset=source.offset,
        batch_index=batch_index,
        event_id=text_field("event_id"),
        tenant_id=text_field("tenant_id"),
        error_type=error_type,
        error=error[:2000],
        dead_lettered_at=now,
    )


class _RawEnvelope(msgspec.Struct):
    events: list[msgspec.Raw]


_RAW_ENVELOPE = msgspec.json.Decoder(_RawEnvelope)
_RAW_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])


@lru_cache(maxsize=4)  # the dead letters of one envelope come one after another
def _envelope_events(value: bytes) -> list[msgspec.Raw]:
    return _RAW_ENVELOPE.decode(value).events


def envelope_event_bytes(value: bytes, index: int) -> bytes:
    """The JSON of event ``index`` of an envelope, as it stands in the message (a slice
    the decoder finds without building the events)."""
    try:
        return bytes(_envelope_events(value)[index])
    except (msgspec.DecodeError, msgspec.ValidationError, IndexError):  # not an envelope after all
        return value


_EVENT = msgspec.json.Decoder(RawEventStruct, float_hook=Decimal)
_BATCH = msgspec.json.Decoder(BatchStruct, float_hook=Decimal)
_ANY = msgspec.json.Decoder(float_hook=Decimal)
_REFUSED = (msgspec.ValidationError, msgspec.DecodeError)


def decode_message(source: SourceMessage, now: datetime) -> tuple[list[DecodedEvent], list[DeadLetter]]:
    """One message's events, validated, and a dead letter for whatever is refused.

    The Structs of :mod:`schemas.wire` decode and validate a well-formed message in one
    pass. When they refuse anything, the message goes through :func:`decode_exactly`,
    where the pydantic models decide and their messages name the field."""
    value = source.value
    if len(value) > MAX_MESSAGE_BYTES:
        reason = f"message is {len(value)} bytes; the limit is {MAX_MESSAGE_BYTES} bytes"
        return [], [dead_letter(source, "too_large", reason, now)]
    if not has_sub_microsecond(value):
        envelope_first = b'"events"' in value[:32]
        for decoder in (_BATCH, _EVENT) if envelope_first else (_EVENT, _BATCH):
            try:
                decoded = decoder.decode(value)
            except _REFUSED:
                continue
            if type(decoded) is BatchStruct:
                events: list[RawEventStruct] = decoded.events  # type: ignore[attr-defined]
                return [DecodedEvent(event, source, index) for index, event in enumerate(events)], []
            return [DecodedEvent(decoded, source, None)], []  # type: ignore[arg-type]
    return decode_exactly(source, now)


def decode_exactly(source: SourceMessage, now: datetime) -> tuple[list[DecodedEvent], list[DeadLetter]]:
    """The models' verdict on every part of a message (each event on its own).

    An envelope's events are read one at a time from their slices of the message, so a
    huge envelope of bad events never has all of them as Python objects at once."""
    try:
        top = _RAW_TOP.decode(source.value)
    except (msgspec.DecodeError, RecursionError):
        return _decode_document(source, now)  # not an object: its own account of why
    if "events" not in top or "event_id" in top:
        return _decode_document(source, now)
    try:
        raw_items: list[msgspec.Raw] = _RAW_LIST.decode(top["events"])
    except (msgspec.DecodeError, RecursionError):
        return _decode_document(source, now)  # "events" is not a list: the model says so
    try:
        envelope = {key: raw_items if key == "events" else _ANY.decode(raw) for key, raw in top.items()}
        items = UsageBatch.model_validate(envelope).events
    except ValidationError as exc:
        return [], [dead_letter(source, "invalid_envelope", describe_validation_error(exc), now)]
    except (msgspec.DecodeError, RecursionError):
        return _decode_document(source, now)
    decoded: list[DecodedEvent] = []
    dead: list[DeadLetter] = []
    for index, raw in enumerate(items):
        try:
            item = _ANY.decode(raw)
        except (msgspec.DecodeError, RecursionError):
            return _decode_document(source, now)
        _validate_item(source, now, index, item, decoded, dead)
    return decoded, dead


def _decode_document(source: SourceMessage, now: datetime) -> tuple[list[DecodedEvent], list[DeadLetter]]:
    try:
        document = _ANY.decode(source.value)
    except msgspec.DecodeError as exc:
        return [], [dead_letter(source, "not_json", f"not valid JSON: {_json_error(source.value, exc)}", now)]
    except RecursionError:
        return [], [dead_letter(source, "not_json", "not valid JSON: nested too deeply", now)]
    if not isinstance(document, dict):
        reason = f"expected a JSON object (an event or {{\"events\": [...]}}), got {type(document).__name__}"
        return [], [dead_letter(source, "invalid_envelope", reason, now)]

    if "events" in document and "event_id" not in document:
        try:
            items = UsageBatch.model_validate(document).events
        except ValidationError as exc:
            return [], [dead_letter(source, "invalid_envelope", describe_validation_error(exc), now)]
        indexed: list[tuple[int | None, Any]] = list(enumerate(items))
    else:
        indexed = [(None, document)]

    decoded: list[DecodedEvent] = []
    dead: list[DeadLetter] = []
    for index, item in indexed:
        _validate_item(source, now, index, item, decoded, dead)
    return decoded, dead


def _validate_item(
    source: SourceMessage, now: datetime, index: int | None, item: Any, decoded: list[DecodedEvent],
    dead: list[DeadLetter],
) -> None:  # fmt: skip
    try:
        event = RawUsageEvent.model_validate(item)
    except ValidationError as exc:
        prefix = f"events[{index}]" if index is not None else ""
        reason = describe_validation_error(exc, prefix)
        dead.append(dead_letter(source, "invalid_event", reason, now, index, item))
        return
    try:
        struct = _as_struct(event)
    except msgspec.ValidationError as exc:  # a value the model takes and no column could hold
        prefix = f"events[{index}]: " if index is not None else ""
        dead.append(dead_letter(source, "invalid_event", f"{prefix}{exc}", now, index, item))
        return
    decoded.append(DecodedEvent(struct, source, index))


def _json_error(value: bytes, error: msgspec.DecodeError) -> str:
    """orjson's account of what is wrong (line and column), as dead letters always gave."""
    try:
        orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return str(exc)
    except Exception:  # anything else: msgspec's account
        pass
    return str(error)


_VALIDATED = struct_for(RawUsageEvent, checked=False)


def _as_struct(event: RawUsageEvent) -> RawEventStruct:
    """A validated model as a Struct like the fast path's, without the fast path's own
    checks: those are stricter than the model (``\x1f`` is whitespace to Python, not to
    pydantic), and the model has decided."""
    return msgspec.convert(event, _VALIDATED, from_attributes=True)  # type: ignore[return-value]
