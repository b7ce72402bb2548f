"""Scale-out on Apache Kafka and a ClickHouse server: two workers in one consumer group.

One worker runs; a stream of events (with duplicates, and budgets whose thresholds are
crossed along the way) starts; a second worker (its own HTTP port and data directory, the
same Kafka, ClickHouse, topics and group) joins mid-stream; then the first is SIGKILLed
while events still flow. Afterwards: no event lost, none counted twice, no breach published
twice, every total exact against the stated rate.
"""

import random
import signal
import threading
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from aiokafka.partitioner import DefaultPartitioner

from tests.docker.servers import Servers, ServerStack, create_database
from tests.integration.helpers import canonical_event, gpt_4o_mini_cost, keyed
from tests.integration.test_budgets_e2e import breaches, set_budget
from tests.stack import wait_until

pytestmark = [pytest.mark.docker, pytest.mark.slow]

PARTITIONS = 4  # of the raw topic (tests.stack.Stack)
TENANTS_PER_PARTITION = 2
EVENTS_PER_TENANT = 30
# One event of 1,000,000 input tokens of gpt-4o-mini: $0.15 at the stated rate. With a $3.00
# monthly limit a tenant crosses 50% at its 10th event, 80% at its 16th and 100% at its 20th:
# spread over the stream, before the second worker joins, around the kill and after it.
EVENT_COST = gpt_4o_mini_cost(1_000_000, 0, 0)
LIMIT = "3.00"
CHUNKS = 60
CHUNKS_KEPT_FOR_AFTER_THE_KILL = 12


def tenants_on_every_partition(prefix: str) -> list[str]:
    """Tenant ids (the Kafka key) that the producer's partitioner spreads over every
    partition, so whichever partitions each worker is given, both have events to take."""
    partitions = list(range(PARTITIONS))
    chosen: dict[int, list[str]] = {p: [] for p in partitions}
    n = 0
    while any(len(found) < TENANTS_PER_PARTITION for found in chosen.values()):
        tenant = f"{prefix}-{n}"
        partition = DefaultPartitioner()(tenant.encode(), partitions, partitions)
        if len(chosen[partition]) < TENANTS_PER_PARTITION:
            chosen[partition].append(tenant)
        n += 1
    return sorted(tenant for found in chosen.values() for tenant in found)


def test_two_workers_one_killed_mid_stream_lose_nothing_and_count_nothing_twice(
    servers: Servers, tmp_path_factory: pytest.TempPathFactory
) -> None:
    assert Decimal("0.15") == EVENT_COST
    nonce = uuid.uuid4().hex[:8]
    database = f"scale_{nonce}"
    create_database(servers, database)
    root = tmp_path_factory.mktemp("scale-out")
    first = ServerStack(root / "first", servers, database, namespace=f"scale-{nonce}")
    second = ServerStack(root / "second", servers, database, namespace=f"scale-{nonce}")
    assert first.http_port != second.http_port and first.env["COSTREAM_DATA_DIR"] != second.env["COSTREAM_DATA_DIR"]
    first.migrate()
    first.start()
    publisher: threading.Thread | None = None
    killed = threading.Event()
    try:
        tenants = tenants_on_every_partition(f"scale-{nonce}")
        for tenant in tenants:
            set_budget(first, f"{tenant}-monthly", tenant, "month", LIMIT)

        rng = random.Random(7)
        at = datetime.now(UTC).replace(microsecond=0)
        events = [canonical_event(f"{tenant}-{n}", tenant, at, 1_000_000, 0)
                  for tenant in tenants for n in range(EVENTS_PER_TENANT)]  # fmt: skip
        messages = events + rng.sample(events, len(events) // 10)  # some event_ids sent twice
        rng.shuffle(messages)
        chunks = [messages[i::CHUNKS] for i in range(CHUNKS)]

        published = threading.Event()
        failures: list[BaseException] = []

        def publish() -> None:
            try:
                for index, chunk in enumerate(chunks):
                    if index == CHUNKS - CHUNKS_KEPT_FOR_AFTER_THE_KILL:
                        assert killed.wait(300), "the first worker was never killed"
                    first.publish(keyed(chunk))
                    time.sleep(0.5)
            except BaseException as exc:  # reported by the test thread
                failures.append(exc)
            finally:
                published.set()

        publisher = threading.Thread(target=publish, name="publisher", daemon=True)
        publisher.start()

        def stored() -> int:
            [(count,)] = first.rows("SELECT uniqExact(event_id) FROM usage_events WHERE tenant_id IN {t:Array(String)}",
                                    t=tenants)  # fmt: skip
            return int(count)

        wait_until(lambda: stored() > 0, 120, interval=0.5, what="the first worker to store events")
        second.start_worker(timeout=180)  # joins the group: partitions move while events flow
        assert not published.is_set(), "the stream ended before the second worker joined"
        wait_until(lambda: stored() > 0 and second.stats()["messages"] > 0, 120, interval=0.5,
                   what="the second worker to take part")  # fmt: skip
        first.stop_worker(signal.SIGKILL)  # mid-stream, with batches in flight
        killed.set()
        publisher.join(600)
        assert not failures, failures
        distinct = len(events)

        # nothing lost: every event_id is stored; nothing twice: FINAL sees each once
        wait_until(lambda: stored() == distinct, 240, interval=1, what=f"{distinct} distinct events stored")
        [(rows, ids)] = first.rows(
            "SELECT count(), uniqExact(event_id) FROM usage_events WHERE tenant_id IN {t:Array(String)}", t=tenants
        )
        assert ids == distinct and rows >= distinct  # unmerged duplicates may remain until a merge
        [(final_rows, final_ids)] = first.rows(
            "SELECT count(), uniqExact(event_id) FROM usage_events FINAL WHERE tenant_id IN {t:Array(String)}",
            t=tenants,
        )
        assert final_rows == final_ids == distinct

        # totals exact against the stated rate
        expected = {tenant: EVENTS_PER_TENANT * EVENT_COST for tenant in tenants}
        totals = first.rows(
            "SELECT tenant_id, sum(total_cost), count() FROM usage_events FINAL WHERE tenant_id IN {t:Array(String)} "
            "GROUP BY tenant_id", t=tenants,
        )
        assert {tenant: Decimal(cost) for tenant, cost, _ in totals} == expected
        assert {tenant: count for tenant, _, count in totals} == dict.fromkeys(tenants, EVENTS_PER_TENANT)

        def windows() -> dict[str, tuple[Decimal, int]]:
            found = first.rows(
                "SELECT tenant_id, sum(total_cost), sum(requests) FROM usage_windows FINAL "
                "WHERE tenant_id IN {t:Array(String)} GROUP BY tenant_id", t=tenants,
            )
            return {tenant: (Decimal(cost), int(requests)) for tenant, cost, requests in found}

        want = {tenant: (cost, EVENTS_PER_TENANT) for tenant, cost in expected.items()}
        wait_until(lambda: windows() == want, 180, interval=1, what="windows to converge on the event totals")

        # every threshold fired once per tenant, in order, and no breach was published twice
        def thresholds() -> dict[str, list[Decimal]]:
            return {tenant: [Decimal(b["threshold_percent"]) for b in breaches(second, tenant)
                             if b["kind"] == "threshold"] for tenant in tenants}  # fmt: skip

        fired = wait_until(lambda: (found := thresholds()) and all(len(v) >= 3 for v in found.values()) and found,
                           120, interval=1, what="the 50%, 80% and 100% breaches of every tenant")  # fmt: skip
        assert fired == {tenant: [Decimal(50), Decimal(80), Decimal(100)] for tenant in tenants}
        published_breaches = [b for tenant in tenants for b in breaches(second, tenant)]
        ids_published = Counter(b["breach_id"] for b in published_breaches)
        assert [breach_id for breach_id, times in ids_published.items() if times > 1] == []
        assert len(ids_published) == len(published_breaches)
        assert second.ready(), "the surviving worker is still serving"
    finally:
        killed.set()  # never leave the publisher waiting
        if publisher is not None and publisher.is_alive():
            publisher.join(60)
        second.close()
        first.close()
