"""The sync publisher, on confluent-kafka (librdkafka): for threaded apps and gateways
without an event loop. ``publish`` queues and returns at once; a daemon thread sends.

librdkafka 2.16 (confluent-kafka 2.16) talks to the embedded Tansu broker, idempotent
producer included; Debian's librdkafka 2.0 fails at ApiVersions against it. The
confluent-kafka wheels bundle their own librdkafka, so ``pip install
'costream-client[sync]'`` gets a working one whatever the system has.
"""

import atexit
import logging
import threading
import time
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

from costream_client.aio import DEFAULT_TOPIC
from costream_client.buffer import (
    DEFAULT_LINGER_MS,
    DEFAULT_MAX_QUEUE,
    MAX_ENVELOPE_BYTES,
    MAX_ENVELOPE_EVENTS,
    Buffer,
    DropPolicy,
    PublisherMetrics,
    Queued,
    envelope_bytes,
    envelopes,
)  # fmt: skip

log = logging.getLogger("costream_client")

MIN_LIBRDKAFKA = (2, 16)
"""The oldest librdkafka measured to work with the embedded broker."""


def librdkafka_version() -> tuple[int, ...]:
    import confluent_kafka

    text, _ = confluent_kafka.libversion()
    return tuple(int(part) for part in text.split("-")[0].split(".")[:3])


class SyncPublisher:
    """Usage events to the raw topic from any thread, never blocking the caller.

    Flushed on ``close()``, on leaving a ``with`` block, and at interpreter exit."""

    def __init__(
        self,
        bootstrap_servers: str,
        topic: str = DEFAULT_TOPIC,
        *,
        max_queue: int = DEFAULT_MAX_QUEUE,
        drop: DropPolicy = "newest",
        linger_ms: int = DEFAULT_LINGER_MS,
        max_envelope_events: int = MAX_ENVELOPE_EVENTS,
        max_envelope_bytes: int = MAX_ENVELOPE_BYTES,
        validate: bool = True,
        enable_idempotence: bool = True,
        message_timeout_ms: int = 30_000,
        on_delivery_error: Callable[[BaseException, int], None] | None = None,
        config: Mapping[str, Any] | None = None,
    ) -> None:
        from confluent_kafka import Producer

        if librdkafka_version()[:2] < MIN_LIBRDKAFKA:
            raise RuntimeError(f"librdkafka {'.'.join(map(str, librdkafka_version()))} is too old for costream's "
                               "broker: install confluent-kafka>=2.16 (its wheels bundle librdkafka)")  # fmt: skip
        self.topic = topic
        self.buffer = Buffer(max_queue, drop)
        self.linger = linger_ms / 1000
        self.max_envelope_events = max_envelope_events
        self.max_envelope_bytes = max_envelope_bytes
        self.validate = validate
        self.on_delivery_error = on_delivery_error
        self._producer = Producer({
            "bootstrap.servers": bootstrap_servers, "acks": "all", "enable.idempotence": enable_idempotence,
            "linger.ms": linger_ms, "message.timeout.ms": message_timeout_ms,
            "message.max.bytes": 2 * max_envelope_bytes + 65536, **(config or {}),
        })  # fmt: skip
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._run, name="costream-publisher", daemon=True)
        self._thread.start()
        atexit.register(self.close)

    def publish(self, event: Mapping[str, Any]) -> bool:
        """Queue ``event``; False when the queue was full and it was dropped (counted in
        ``metrics().dropped``). :class:`EventError` when it is invalid."""
        return self.buffer.put_event(event, self.validate)

    def metrics(self) -> PublisherMetrics:
        return self.buffer.metrics()

    def flush(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while self.buffer.pending():
            if time.monotonic() > deadline:
                return False
            with self.buffer.lock:
                self.buffer.ready.notify()
            time.sleep(0.01)
        return True

    def close(self, timeout: float = 10.0) -> bool:
        if self._closing.is_set():
            return self.buffer.pending() == 0
        flushed = self.flush(timeout)
        self._closing.set()
        with self.buffer.lock:
            self.buffer.ready.notify()
        self._thread.join(5)
        atexit.unregister(self.close)
        if not flushed:
            log.warning("costream publisher closed with %d events not delivered", self.buffer.pending())
        return flushed

    def __enter__(self) -> Self:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()

    def _run(self) -> None:
        while not self._closing.is_set():
            with self.buffer.lock:
                if not self.buffer.items:
                    self.buffer.ready.wait(0.1)
            self._producer.poll(0)
            if not self.buffer.items:
                continue
            time.sleep(self.linger)
            items = self.buffer.take(self.max_envelope_events * 20)
            for tenant, chunk in envelopes(items, self.max_envelope_events, self.max_envelope_bytes):
                self._produce(tenant, chunk)
            self._producer.poll(0.05)
        self._producer.flush(2)

    def _produce(self, tenant: str, chunk: list[Queued]) -> None:
        def delivered(error: Any, _message: Any) -> None:
            if error is None:
                self.buffer.acknowledged(len(chunk))
                return
            exc = RuntimeError(str(error))
            self.buffer.failed(chunk, exc)
            if self.on_delivery_error is not None:
                try:
                    self.on_delivery_error(exc, len(chunk))
                except Exception:
                    log.exception("on_delivery_error raised")

        try:
            self._producer.produce(self.topic, envelope_bytes(chunk), key=tenant.encode(), on_delivery=delivered)
        except BufferError as exc:  # librdkafka's own queue is full: keep them in ours
            self.buffer.failed(chunk, exc)
            self._producer.poll(0.1)
