"""End-to-end figures on the real embedded stack (Tansu broker, ``costream worker``
process, chDB), measured in one run:

- throughput, published -> priced -> stored, for single-event messages and batch
  envelopes of 10 and 100 events;
- latency from publishing a budget-crossing event to its breach on the breach topic
  (p50/p99), under each steady background load of :data:`LOADS` in turn: 5,000
  single-event messages/s, then 20,000 events/s in envelopes of 100.
"""

import asyncio
import contextlib
import json
import statistics
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from schemas.budgets import Budget
from stream.budgets.registry import encode_budget
from tests.stack import Stack, wait_until


def event(tenant: str, n: int, input_tokens: int = 1000) -> dict[str, Any]:
    return {"event_id": f"{tenant}-{n}", "tenant_id": tenant, "occurred_at": datetime.now(UTC).isoformat(),
            "provider": "openai", "model": "gpt-4o-mini",
            "usage": {"input_tokens": input_tokens, "output_tokens": 100}, "attributes": {"feature": "bench"}}


def processed(stack: Stack) -> int:
    stats = stack.stats()
    return int(stats["events_priced"]) + int(stats["events_unpriced"])


def throughput(stack: Stack, batch: int, events: int) -> float:
    tenant = f"tp{batch}-{uuid.uuid4().hex[:6]}"
    payloads = [event(f"{tenant}-{n % 20}", n) for n in range(events)]
    if batch == 1:
        messages = [(p["tenant_id"].encode(), orjson.dumps(p)) for p in payloads]
    else:
        messages = [
            (payloads[i]["tenant_id"].encode(), orjson.dumps({"events": payloads[i:i + batch]}))
            for i in range(0, events, batch)
        ]
    before = processed(stack)
    started = time.perf_counter()
    stack.publish(messages)
    wait_until(lambda: processed(stack) >= before + events, 600, interval=0.1, what="the load to be processed")
    return events / (time.perf_counter() - started)


@dataclass
class Load:
    """A steady background load: ``events_per_second`` offered in messages of ``per_message`` events."""

    events_per_second: int
    per_message: int
    sent: int = 0
    seconds: float = 0.0
    timed_out: int = 0
    """Probes whose breach did not arrive within PROBE_TIMEOUT_S (counted at that wait)."""


PROBE_TIMEOUT_S = 30.0


async def breach_latency(stack: Stack, probes: int, load: Load) -> list[float]:
    bootstrap = stack.settings.bootstrap_servers
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all")
    consumer = AIOKafkaConsumer(stack.settings.topic_breaches, bootstrap_servers=bootstrap,
                                auto_offset_reset="latest", group_id=None)
    await producer.start()
    await consumer.start()
    stop = threading.Event()
    tag = f"load-{uuid.uuid4().hex[:6]}"

    async def background_load() -> None:
        """A tenth of a second's events every 0.1 s, paced by the clock (not by sleeping a
        fixed 0.1 s after the sends), so what is offered is the rate asked for."""
        per_tick = load.events_per_second // 10
        started = next_at = time.perf_counter()
        while not stop.is_set():
            events = [event(tag, load.sent + i) for i in range(per_tick)]
            for i in range(0, per_tick, load.per_message):
                chunk = events[i:i + load.per_message]
                value = orjson.dumps(chunk[0]) if load.per_message == 1 else orjson.dumps({"events": chunk})
                await producer.send(stack.settings.topic_raw, value, key=tag.encode())
            load.sent += per_tick
            next_at += 0.1
            await asyncio.sleep(max(0.0, next_at - time.perf_counter()))
        load.seconds = time.perf_counter() - started

    loading = asyncio.create_task(background_load())
    latencies: list[float] = []
    try:
        tenants = [f"probe-{uuid.uuid4().hex[:8]}" for _ in range(probes)]
        for tenant in tenants:  # one-cent daily budgets: a single event crosses them
            budget = Budget.model_validate({"id": tenant, "tenant_id": tenant, "period": "day", "limit_usd": "0.01"})
            await producer.send_and_wait(stack.settings.topic_budget_definitions, encode_budget(budget),
                                         key=tenant.encode())
        await asyncio.sleep(3)
        for tenant in tenants:
            sent = time.perf_counter()
            await producer.send_and_wait(stack.settings.topic_raw, orjson.dumps(event(tenant, 0, 200_000)),
                                         key=tenant.encode())
            while True:
                batch = await consumer.getmany(timeout_ms=5000)
                arrived = [json.loads(r.value) for records in batch.values() for r in records]
                if any(b["tenant_id"] == tenant and b["kind"] == "threshold" for b in arrived):
                    latencies.append(time.perf_counter() - sent)
                    break
                if time.perf_counter() - sent > PROBE_TIMEOUT_S:
                    # a miss is a figure too: counted at the wait, and the run goes on
                    latencies.append(time.perf_counter() - sent)
                    load.timed_out += 1
                    break
            await asyncio.sleep(0.2)
    finally:
        stop.set()
        await loading
        await consumer.stop()
        await producer.stop()
    return latencies


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


LOADS = {"single_5000": Load(5_000, 1), "envelopes_20000": Load(20_000, 100)}
"""Background loads for the breach latency: 5,000 single-event messages/s, and 20,000
events/s in envelopes of 100."""


def run_on(stack: Stack, probes: int = 30) -> dict[str, float]:
    figures = {
        "e2e_events_per_s_single": throughput(stack, 1, 5_000),
        "e2e_events_per_s_batch_10": throughput(stack, 10, 20_000),
        "e2e_events_per_s_batch_100": throughput(stack, 100, 50_000),
    }
    for name, shape in LOADS.items():
        load = Load(shape.events_per_second, shape.per_message)
        before = processed(stack)
        latencies = asyncio.run(breach_latency(stack, probes=probes, load=load))
        figures[f"breach_latency_p50_ms_{name}"] = statistics.median(latencies) * 1000
        figures[f"breach_latency_p99_ms_{name}"] = percentile(latencies, 0.99) * 1000
        figures[f"breach_load_offered_events_per_s_{name}"] = load.sent / load.seconds if load.seconds else 0.0
        figures[f"breach_probes_timed_out_{name}"] = float(load.timed_out)
        # The next load starts once this one's backlog is processed (or after 10 minutes).
        started = time.perf_counter()
        target = before + load.sent

        def drained(target: int = target) -> bool:
            try:
                return processed(stack) >= target
            except OSError:  # a worker too busy to answer within the timeout is not drained yet
                return False

        with contextlib.suppress(AssertionError):  # wait_until raises it on timeout
            wait_until(drained, 600, interval=0.5, what="the background load to be processed")
        figures[f"breach_load_drain_s_{name}"] = time.perf_counter() - started
    return figures


def run() -> dict[str, float]:
    with tempfile.TemporaryDirectory() as root:
        stack = Stack(Path(root)).start()
        try:
            return run_on(stack)
        finally:
            stack.close()
