"""``POST /v1/events`` on the real worker: events over HTTP arrive priced, bad lines are
refused with their reason, a tenant token sends only its own tenant, and Kafka that
cannot take them answers 503 with Retry-After."""

import asyncio
import contextlib
import json
import time
import urllib.error
import urllib.request
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import orjson
import pytest

from stream.broker.embedded import EmbeddedBroker
from stream.broker.publisher import BatchPublisher
from stream.broker.topics import ensure_topics
from stream.config import load_settings
from stream.web.auth import LOCAL_ADMIN
from stream.web.events_api import IngestError, ingest
from tests.integration.helpers import canonical_event, gpt_4o_mini_cost
from tests.stack import ISOLATION_TENANTS, Stack, free_port, wait_until

pytestmark = pytest.mark.integration
AT = datetime(2026, 10, 2, 9, tzinfo=UTC)


def post(stack: Stack, body: bytes, token: str | None, content_type: str = "application/json",
         ) -> tuple[int, Any, dict[str, str]]:  # fmt: skip
    headers = {"Content-Type": content_type}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(f"http://127.0.0.1:{stack.http_port}/v1/events", data=body, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read()), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read()), dict(exc.headers)


def stored(stack: Stack, tenant: str) -> list[dict[str, Any]]:
    return stack.query("SELECT event_id, input_tokens, output_tokens, total_cost FROM usage_events FINAL "
                       "WHERE tenant_id = {t:String} ORDER BY event_id", t=tenant)  # fmt: skip


def test_ndjson_lines_arrive_priced_and_bad_lines_get_their_reason(stack: Stack) -> None:
    tenant = f"http-{uuid.uuid4().hex[:8]}"
    good = [canonical_event(f"e{n}", tenant, AT, 1000 * (n + 1), 100, cached=200) for n in range(3)]
    naive = {**canonical_event("naive", tenant, AT, 10, 1), "occurred_at": "2026-10-02T09:00:00"}
    negative = canonical_event("negative", tenant, AT, 10, 1)
    negative["usage"]["output_tokens"] = -5
    lines = [orjson.dumps(good[0]), b"", orjson.dumps(naive), orjson.dumps(good[1]), b"{not json",
             orjson.dumps(negative), orjson.dumps(good[2])]  # fmt: skip
    status, answer, _ = post(stack, b"\n".join(lines) + b"\n", stack.tokens["admin"], "application/x-ndjson")
    assert status == 202, answer
    assert (answer["accepted"], answer["rejected"]) == (3, 3)
    reasons = {error["line"]: error for error in answer["errors"]}
    assert set(reasons) == {3, 5, 6}
    assert reasons[3]["event_id"] == "naive" and reasons[3]["reason"].startswith("occurred_at: ")
    assert "timezone" in reasons[3]["reason"]
    assert reasons[5]["reason"].startswith("not valid JSON")
    assert reasons[6]["reason"].startswith("usage.output_tokens: ") and reasons[6]["event_id"] == "negative"

    rows = wait_until(lambda: len(stored(stack, tenant)) == 3 and stored(stack, tenant), 60,
                      what="the HTTP events to be priced")  # fmt: skip
    assert [r["event_id"] for r in rows] == ["e0", "e1", "e2"]
    for n, row in enumerate(rows):
        assert row["input_tokens"] == 1000 * (n + 1) and row["output_tokens"] == 100
        assert Decimal(row["total_cost"]) == gpt_4o_mini_cost(1000 * (n + 1), 200, 100)


def test_one_event_an_array_and_an_envelope_are_taken(stack: Stack) -> None:
    tenant = f"http-{uuid.uuid4().hex[:8]}"
    one = canonical_event("one", tenant, AT, 500, 50)
    array = [canonical_event(f"arr{n}", tenant, AT, 500, 50) for n in range(2)]
    envelope = {"events": [canonical_event("env0", tenant, AT, 500, 50), {"event_id": "env-bad"}]}
    for body, expected in ((one, (1, 0)), (array, (2, 0)), (envelope, (1, 1))):
        status, answer, _ = post(stack, orjson.dumps(body, option=orjson.OPT_INDENT_2), stack.tokens["admin"])
        assert status == 202 and (answer["accepted"], answer["rejected"]) == expected, answer
    assert answer["errors"][0]["line"] == 2 and "tenant_id: Field required" in answer["errors"][0]["reason"]
    wait_until(lambda: len(stored(stack, tenant)) == 4, 60, what="single, array and envelope events")
    assert {r["event_id"] for r in stored(stack, tenant)} == {"one", "arr0", "arr1", "env0"}


def test_a_tenant_token_may_only_send_its_own_tenant(stack: Stack) -> None:
    mine, other = ISOLATION_TENANTS
    nonce = uuid.uuid4().hex[:8]
    events = [canonical_event(f"{nonce}-own", mine, AT, 100, 10), canonical_event(f"{nonce}-other", other, AT, 100, 10)]
    status, answer, _ = post(stack, orjson.dumps(events), stack.tokens[mine])
    assert status == 202 and (answer["accepted"], answer["rejected"]) == (1, 1)
    assert answer["errors"] == [{"line": 2, "event_id": f"{nonce}-other",
                                 "reason": f"tenant_id: this token may only send events of tenant '{mine}'"}]
    wait_until(lambda: stack.query("SELECT count() AS n FROM usage_events FINAL WHERE event_id = {e:String}",
                                   e=f"{nonce}-own")[0]["n"] == 1, 60, what="the tenant's own event")  # fmt: skip
    time.sleep(1.0)
    assert stack.query("SELECT count() AS n FROM usage_events WHERE event_id = {e:String}", e=f"{nonce}-other") \
        == [{"n": 0}]


@pytest.mark.parametrize(("token", "body", "status", "needle"), [
    (None, b"{}", 401, "bearer"),
    ("admin", b"", 400, "empty"),
    ("admin", b"[1, 2", 400, "not a valid JSON array"),
    ("admin", b"{\"event_id\": ", 400, "not valid JSON"),
])  # fmt: skip
def test_a_body_that_cannot_be_read_is_refused_whole(stack: Stack, token: str | None, body: bytes, status: int,
                                                      needle: str) -> None:  # fmt: skip
    got, answer, _ = post(stack, body, stack.tokens[token] if token else None)
    assert got == status and needle in answer["message"] and answer["status"] == status


def test_a_body_over_the_limit_is_413(stack: Stack) -> None:
    filler = b"[" + b",".join([b'"' + b"x" * 1_000_000 + b'"'] * 9) + b"]"
    status, answer, _ = post(stack, filler, stack.tokens["admin"])
    assert status == 413 and "bytes" in answer["message"]


def test_kafka_that_cannot_take_events_answers_503_with_retry_after(tmp_path: Path) -> None:
    """A broker of its own, stopped under a started publisher: the body is refused whole,
    with the time to wait, instead of hanging or claiming the events were taken."""

    async def run() -> IngestError:
        broker = EmbeddedBroker(free_port(), tmp_path / "broker.log").start()
        settings = load_settings(kafka_bootstrap_servers=broker.bootstrap_servers, topic_partitions=1,
                                 data_dir=tmp_path)  # fmt: skip
        try:
            await ensure_topics(settings)
            publisher = BatchPublisher(settings)
            await publisher.start()
            body = orjson.dumps(canonical_event("before", "http-503", AT, 10, 1))
            before = await ingest(body, "application/json", LOCAL_ADMIN, settings.topic_raw, publisher.publish)
            assert before.accepted == 1
            broker.stop()
            started = time.monotonic()
            try:
                await ingest(body, "application/json", LOCAL_ADMIN, settings.topic_raw, publisher.publish,
                             timeout=3.0)  # fmt: skip
            except IngestError as exc:
                assert time.monotonic() - started < 10
                return exc
            finally:  # the producer would wait for the broker to flush what it holds
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(publisher.stop(), 2)
            raise AssertionError("a stopped broker took the events")
        finally:
            broker.stop()

    refused = asyncio.run(run())
    assert refused.status == 503 and refused.retry_after == 5 and "send the same body again" in refused.message


def test_one_worker_accepts_thousands_of_events_per_second(stack: Stack) -> None:
    """The load test: NDJSON bodies of 1000 events, one after another, as one client
    would send them; every event arrives in the store."""
    tenant = f"http-load-{uuid.uuid4().hex[:8]}"
    bodies = [b"\n".join(orjson.dumps(canonical_event(f"b{b}-{n}", tenant, AT, 100, 10)) for n in range(1000))
              for b in range(10)]  # fmt: skip
    started = time.monotonic()
    for body in bodies:
        status, answer, _ = post(stack, body, stack.tokens["admin"], "application/x-ndjson")
        assert status == 202 and answer["accepted"] == 1000
    rate = 10_000 / (time.monotonic() - started)
    print(f"\nPOST /v1/events: {rate:,.0f} events/s accepted by one worker (NDJSON, 1000 per body)")
    assert rate > 1000, f"one worker accepted only {rate:.0f} events/s"
    wait_until(lambda: stack.query("SELECT count() AS n FROM usage_events FINAL WHERE tenant_id = {t:String}",
                                   t=tenant)[0]["n"] == 10_000, 120, what="the load test's events")  # fmt: skip
