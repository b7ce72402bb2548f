"""The async publisher, on aiokafka: ``publish`` queues and returns at once; a task
sends envelopes keyed by tenant and retries what Kafka did not acknowledge."""

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Any, Self

from aiokafka import AIOKafkaProducer

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

DEFAULT_TOPIC = "llm.usage.raw"
DeliveryErrorHook = Callable[[BaseException, int], None]
"""Called with the error and how many events it concerned (they are queued again)."""


class AsyncPublisher:
    """Usage events to the raw topic without ever blocking the caller.

    ``enable_idempotence``: on for Apache Kafka; the embedded Tansu broker refuses
    aiokafka's InitProducerId, so it is off by default (a retried send that was in fact
    delivered is harmless: the worker counts a ``(tenant_id, event_id)`` once)."""

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
        enable_idempotence: bool = False,
        request_timeout_ms: int = 10_000,
        retry_backoff: float = 0.5,
        max_retry_backoff: float = 10.0,
        on_delivery_error: DeliveryErrorHook | None = None,
        producer_options: Mapping[str, Any] | None = None,
    ) -> None:
        self.bootstrap_servers = bootstrap_servers
        self.topic = topic
        self.buffer = Buffer(max_queue, drop)
        self.linger = linger_ms / 1000
        self.max_envelope_events = max_envelope_events
        self.max_envelope_bytes = max_envelope_bytes
        self.validate = validate
        self.retry_backoff = retry_backoff
        self.max_retry_backoff = max_retry_backoff
        self.on_delivery_error = on_delivery_error
        self.producer_options: dict[str, Any] = {
            "acks": "all", "enable_idempotence": enable_idempotence, "linger_ms": linger_ms,
            "request_timeout_ms": request_timeout_ms, "max_request_size": 2 * max_envelope_bytes + 65536,
            **(producer_options or {}),
        }  # fmt: skip
        self._producer: AIOKafkaProducer | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._closing = False

    # --- the caller's side ---------------------------------------------------------------
    def publish(self, event: Mapping[str, Any]) -> bool:
        """Queue ``event``; False when the queue is full and the drop policy dropped one
        (counted in ``metrics().dropped``). :class:`EventError` when it is invalid."""
        kept = self.buffer.put_event(event, self.validate)
        self._wake.set()
        return kept

    def metrics(self) -> PublisherMetrics:
        return self.buffer.metrics()

    async def start(self) -> Self:
        """Start sending in the background; returns at once, even with Kafka down."""
        if self._task is None:
            self._closing = False
            self._task = asyncio.get_running_loop().create_task(self._run(), name="costream-publisher")
        return self

    async def flush(self, timeout: float = 10.0) -> bool:
        """Wait until every queued event is acknowledged; False if time ran out."""
        deadline = asyncio.get_running_loop().time() + timeout
        while self.buffer.pending():
            if asyncio.get_running_loop().time() > deadline:
                return False
            self._wake.set()
            await asyncio.sleep(0.01)
        return True

    async def close(self, timeout: float = 10.0) -> bool:
        """Flush (up to ``timeout`` seconds), then stop. True if nothing was left behind."""
        flushed = await self.flush(timeout) if self._task is not None else self.buffer.pending() == 0
        self._closing = True
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._producer is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._producer.stop(), 5)
            self._producer = None
        if not flushed:
            log.warning("costream publisher closed with %d events not delivered", self.buffer.pending())
        return flushed

    async def __aenter__(self) -> Self:
        return await self.start()

    async def __aexit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:  # fmt: skip
        await self.close()

    # --- the sending task ----------------------------------------------------------------
    async def _connect(self) -> AIOKafkaProducer:
        backoff = self.retry_backoff
        while True:
            producer = AIOKafkaProducer(bootstrap_servers=self.bootstrap_servers, **self.producer_options)
            try:
                await producer.start()
                return producer
            except Exception as exc:
                with contextlib.suppress(Exception):
                    await producer.stop()
                with self.buffer.lock:
                    self.buffer.last_error = f"cannot reach Kafka at {self.bootstrap_servers}: {exc}"
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_retry_backoff)

    async def _run(self) -> None:
        backoff = self.retry_backoff
        while True:
            if not self.buffer.pending():
                self._wake.clear()
                await self._wake.wait()
                await asyncio.sleep(self.linger)  # gather an envelope's worth
            if self._producer is None:
                self._producer = await self._connect()
            items = self.buffer.take(self.max_envelope_events * 20)
            if not items:
                continue
            if await self._send(self._producer, items):
                backoff = self.retry_backoff
            else:
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_retry_backoff)

    async def _send(self, producer: AIOKafkaProducer, items: list[Queued]) -> bool:
        chunks = envelopes(items, self.max_envelope_events, self.max_envelope_bytes)
        sent: list[tuple[list[Queued], asyncio.Future[Any] | BaseException]] = []
        for tenant, chunk in chunks:
            try:
                future = await producer.send(self.topic, envelope_bytes(chunk), key=tenant.encode())
                sent.append((chunk, future))
            except Exception as exc:
                sent.append((chunk, exc))
        ok = True
        for chunk, outcome in sent:
            error: BaseException | None = outcome if isinstance(outcome, BaseException) else None
            if error is None:
                try:
                    await outcome  # type: ignore[misc]
                except Exception as exc:
                    error = exc
            if error is None:
                self.buffer.acknowledged(len(chunk))
                continue
            ok = False
            self.buffer.failed(chunk, error)
            if self.on_delivery_error is not None:
                try:
                    self.on_delivery_error(error, len(chunk))
                except Exception:
                    log.exception("on_delivery_error raised")
        return ok
