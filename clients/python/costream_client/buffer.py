"""The bounded queue between the caller and Kafka, and the counters it keeps.

``publish`` never waits for Kafka: an event goes into this queue or, when the queue is
full, is dropped and counted. With ``drop="newest"`` (the default) the event being
published is the one dropped, so what is already queued keeps its order; with
``drop="oldest"`` the oldest queued event makes room. Events handed to Kafka but not yet
acknowledged count toward the bound, so a Kafka that is down cannot grow memory.
"""

import threading
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from costream_client.events import encode_event
from costream_client.validation import EventError

# What both publishers start with (a caller can change each).
DEFAULT_MAX_QUEUE = 10_000
"""Events held at most, counting those sent and not yet acknowledged."""
DEFAULT_LINGER_MS = 20
MAX_ENVELOPE_EVENTS = 500
MAX_ENVELOPE_BYTES = 512 * 1024

DropPolicy = Literal["newest", "oldest"]
Queued = tuple[str, bytes]
"""(tenant_id, the event's JSON bytes)."""


@dataclass(frozen=True)
class PublisherMetrics:
    queued: int
    """Waiting to be sent."""
    in_flight: int
    """Sent, not yet acknowledged."""
    published: int
    """Acknowledged by Kafka."""
    dropped: int
    """Refused because the queue was full (the drop policy)."""
    invalid: int
    """Refused by validation (``publish`` raised :class:`EventError`)."""
    delivery_errors: int
    """Sends Kafka did not acknowledge; their events were queued again."""
    last_error: str | None


class Buffer:
    def __init__(self, max_events: int, drop: DropPolicy) -> None:
        if max_events < 1:
            raise ValueError("max_queue must be at least 1")
        if drop not in ("newest", "oldest"):
            raise ValueError("drop must be 'newest' or 'oldest'")
        self.max_events = max_events
        self.drop = drop
        self.items: deque[Queued] = deque()
        self.lock = threading.Lock()
        self.ready = threading.Condition(self.lock)
        self.in_flight = 0
        self.published = 0
        self.dropped = 0
        self.invalid = 0
        self.delivery_errors = 0
        self.last_error: str | None = None

    def put_event(self, event: Mapping[str, Any], validate: bool) -> bool:
        """Encode ``event`` and queue it (see :meth:`put`); an invalid event is counted
        and its :class:`EventError` raised."""
        try:
            item = encode_event(event, validate)
        except EventError:
            with self.lock:
                self.invalid += 1
            raise
        return self.put(item)

    def put(self, item: Queued) -> bool:
        with self.lock:
            if len(self.items) + self.in_flight >= self.max_events:
                if self.drop == "newest" or not self.items:
                    self.dropped += 1
                    return False
                self.items.popleft()
                self.dropped += 1
            self.items.append(item)
            self.ready.notify()
            return True

    def take(self, most: int) -> list[Queued]:
        with self.lock:
            taken = [self.items.popleft() for _ in range(min(most, len(self.items)))]
            self.in_flight += len(taken)
            return taken

    def acknowledged(self, count: int) -> None:
        with self.lock:
            self.in_flight -= count
            self.published += count

    def failed(self, items: Sequence[Queued], error: BaseException | str) -> None:
        """Back at the head of the queue, in their order, to be sent again."""
        with self.lock:
            self.in_flight -= len(items)
            self.delivery_errors += 1
            self.last_error = str(error) or type(error).__name__
            self.items.extendleft(reversed(items))
            self.ready.notify()

    def pending(self) -> int:
        with self.lock:
            return len(self.items) + self.in_flight

    def metrics(self) -> PublisherMetrics:
        with self.lock:
            return PublisherMetrics(len(self.items), self.in_flight, self.published, self.dropped, self.invalid,
                                    self.delivery_errors, self.last_error)  # fmt: skip


def envelopes(items: Sequence[Queued], max_events: int, max_bytes: int) -> list[tuple[str, list[Queued]]]:
    """Items grouped by tenant into envelopes of at most ``max_events`` and about
    ``max_bytes`` (one larger event travels alone)."""
    by_tenant: dict[str, list[Queued]] = {}
    for item in items:
        by_tenant.setdefault(item[0], []).append(item)
    out: list[tuple[str, list[Queued]]] = []
    for tenant, tenant_items in by_tenant.items():
        chunk: list[Queued] = []
        size = 0
        for item in tenant_items:
            if chunk and (len(chunk) >= max_events or size + len(item[1]) > max_bytes):
                out.append((tenant, chunk))
                chunk, size = [], 0
            chunk.append(item)
            size += len(item[1]) + 1
        if chunk:
            out.append((tenant, chunk))
    return out


def envelope_bytes(chunk: Sequence[Queued]) -> bytes:
    if len(chunk) == 1:
        return chunk[0][1]
    return b'{"events":[' + b",".join(data for _, data in chunk) + b"]}"
