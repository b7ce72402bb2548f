"""``POST /v1/events``: usage events over HTTP, published to the raw topic.

The body is one event (a JSON object), a JSON array of events, or NDJSON (one event per
line). Each event is validated on its own by the same model the worker validates the raw
topic with (:class:`schemas.RawUsageEvent`), so a rejected line gets the reason a dead
letter would carry. A tenant token may only send its own ``tenant_id``.

Accepted events are published as batch envelopes keyed by tenant, with each event's
bytes as the caller sent them; the ingest agent then prices them as it does any raw
message (what only pricing can find, an unknown provider or an impossible count, becomes
a dead letter there, with its reason). The answer is ``202`` once Kafka has acknowledged
every accepted event. While Kafka cannot take them the answer is ``503`` with
``Retry-After``; the caller sends the same body again (the worker counts a resent
``(tenant_id, event_id)`` once, so a partly published body is safe to resend).
"""

import asyncio
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import msgspec
from pydantic import ValidationError

from schemas import RawUsageEvent
from schemas.limits import MAX_EVENTS_PER_BATCH, MAX_MESSAGE_BYTES
from stream.ingest.errors import describe_validation_error
from stream.web.auth import Principal

MAX_BODY_BYTES = MAX_MESSAGE_BYTES
"""The largest body ``POST /v1/events`` reads (larger: 413)."""

ENVELOPE_BYTES = 512 * 1024
"""Bytes of events per published envelope: well under a produce batch, so one body
becomes a few messages per tenant."""

PUBLISH_TIMEOUT = 10.0
"""Seconds to wait for Kafka to acknowledge a body's events before answering 503."""

RETRY_AFTER_SECONDS = 5
MAX_REASONS = 1000
"""Rejected lines listed in one answer (the counts cover them all)."""

Publish = Callable[[str, Sequence[tuple[bytes | None, bytes]]], Awaitable[None]]

_ANY = msgspec.json.Decoder(float_hook=Decimal)
_RAW_LIST = msgspec.json.Decoder(list[msgspec.Raw])
_RAW_TOP = msgspec.json.Decoder(dict[str, msgspec.Raw])


class IngestError(Exception):
    """The body as a whole cannot be taken (status 400, 413 or 503)."""

    def __init__(self, status: int, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: int = 0
    errors: list[dict[str, Any]] = field(default_factory=list)
    accepted_bytes: dict[str, list[bytes]] = field(default_factory=lambda: defaultdict(list))

    def reject(self, line: int, reason: str, item: Any = None) -> None:
        self.rejected += 1
        if len(self.errors) < MAX_REASONS:
            entry: dict[str, Any] = {"line": line, "reason": reason}
            if isinstance(item, dict) and isinstance(item.get("event_id"), str):
                entry["event_id"] = item["event_id"][:256]
            self.errors.append(entry)

    def as_json(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected, "errors": self.errors}


def split_body(body: bytes, content_type: str) -> list[bytes]:
    """The body's events as the caller's bytes, in order. A JSON object or array is
    one document (an object with ``events`` and no ``event_id`` is a batch envelope, as on
    the raw topic); NDJSON (``application/x-ndjson``, or any body that is not one JSON
    document but has many lines) is one event per non-blank line."""
    stripped = body.strip()
    if not stripped:
        raise IngestError(400, "the body is empty: send an event, a JSON array of events or NDJSON")
    ndjson = "ndjson" in content_type or "jsonlines" in content_type
    if not ndjson:
        if stripped[:1] == b"[":
            try:
                return [bytes(raw) for raw in _RAW_LIST.decode(stripped)]
            except msgspec.DecodeError as exc:
                raise IngestError(400, f"the body is not a valid JSON array: {exc}") from None
        try:
            top = _RAW_TOP.decode(stripped)
        except msgspec.ValidationError:  # JSON, but not an object: check_events says so
            return [stripped]
        except msgspec.DecodeError as exc:
            if b"\n" not in stripped:
                raise IngestError(400, f"the body is not valid JSON: {exc}") from None
        else:
            if "events" in top and "event_id" not in top:  # a batch envelope, as on the raw topic
                try:
                    return [bytes(raw) for raw in _RAW_LIST.decode(top["events"])]
                except msgspec.DecodeError:
                    raise IngestError(400, "events: Input should be a valid list") from None
            return [stripped]
    return [line.strip() for line in body.split(b"\n")]


def check_events(lines: list[bytes], principal: Principal) -> IngestResult:
    """Each line validated on its own; blank NDJSON lines are skipped."""
    result = IngestResult()
    for number, raw in enumerate(lines, start=1):
        if not raw:
            continue
        try:
            item = _ANY.decode(raw)
        except msgspec.DecodeError as exc:
            result.reject(number, f"not valid JSON: {exc}")
            continue
        except RecursionError:
            result.reject(number, "not valid JSON: nested too deeply")
            continue
        if not isinstance(item, dict):
            result.reject(number, f"expected a JSON object (an event), got {type(item).__name__}")
            continue
        try:
            event = RawUsageEvent.model_validate(item)
        except ValidationError as exc:
            result.reject(number, describe_validation_error(exc), item)
            continue
        if principal.tenant is not None and event.tenant_id != principal.tenant:
            result.reject(number, f"tenant_id: this token may only send events of tenant {principal.tenant!r}", item)
            continue
        result.accepted += 1
        result.accepted_bytes[event.tenant_id].append(raw)
    return result


def envelopes(accepted: dict[str, list[bytes]]) -> list[tuple[bytes | None, bytes]]:
    """Batch envelopes keyed by tenant, each within :data:`ENVELOPE_BYTES` and the
    per-envelope event limit (an event larger than that travels alone)."""
    messages: list[tuple[bytes | None, bytes]] = []
    for tenant, events in accepted.items():
        key = tenant.encode()
        chunk: list[bytes] = []
        size = 0
        for raw in events:
            if chunk and (size + len(raw) > ENVELOPE_BYTES or len(chunk) >= MAX_EVENTS_PER_BATCH):
                messages.append((key, b'{"events":[' + b",".join(chunk) + b"]}"))
                chunk, size = [], 0
            chunk.append(raw)
            size += len(raw) + 1
        if chunk:
            messages.append((key, b'{"events":[' + b",".join(chunk) + b"]}"))
    return messages


async def ingest(body: bytes, content_type: str, principal: Principal, topic: str, publish: Publish,
                 timeout: float = PUBLISH_TIMEOUT) -> IngestResult:  # fmt: skip
    """Validate, then publish what is accepted; :class:`IngestError` (503) when Kafka
    does not acknowledge within ``timeout`` seconds."""
    if len(body) > MAX_BODY_BYTES:
        raise IngestError(413, f"the body is {len(body)} bytes; the limit is {MAX_BODY_BYTES} bytes")
    return await ingest_lines(split_body(body, content_type), principal, topic, publish, timeout)


async def ingest_lines(lines: list[bytes], principal: Principal, topic: str, publish: Publish,
                       timeout: float = PUBLISH_TIMEOUT) -> IngestResult:  # fmt: skip
    """Events already split into their JSON bytes (the OTLP receiver's too)."""
    result = check_events(lines, principal)
    messages = envelopes(result.accepted_bytes)
    if messages:
        try:
            await asyncio.wait_for(publish(topic, messages), timeout)
        except (TimeoutError, ConnectionError, OSError) as exc:
            raise _unavailable(exc) from None
        except Exception as exc:  # aiokafka's KafkaError and its kin: the broker did not take them
            if type(exc).__module__.startswith("aiokafka"):
                raise _unavailable(exc) from None
            raise
    return result


def _unavailable(exc: BaseException) -> IngestError:
    why = str(exc) or type(exc).__name__
    return IngestError(503, f"Kafka cannot take events now ({why[:300]}); send the same body again later",
                       RETRY_AFTER_SECONDS)  # fmt: skip
