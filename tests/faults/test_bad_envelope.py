"""An envelope of thousands of bad events: every one is a dead letter with its reason, and
the worker's memory grows by a bounded multiple of the envelope's size (each dead letter
carries its own event, not a copy of the whole envelope)."""

import base64
import uuid
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.stack import Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

BAD_EVENTS = 5_000
GROWTH_PER_ENVELOPE_BYTE = 48
"""Worker RSS growth allowed per byte of the envelope (measured here: 32-35). The dead
letters are some 12 bytes per envelope byte (each a model with its event's base64, the
reason and the ids); their table rows, topic messages, the consumed message's buffers
and what the allocator keeps after freeing make the rest. Dead letters that each carried
a copy of the whole envelope grew it ~BAD_EVENTS times over and fail this by far."""


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


def test_an_envelope_of_bad_events_is_dead_lettered_in_bounded_memory(stack: Stack) -> None:
    nonce = uuid.uuid4().hex[:8]
    tenant = f"bad-envelope-{nonce}"
    events: list[dict[str, Any]] = [
        {"event_id": f"{nonce}-{n}", "tenant_id": tenant, "occurred_at": "2026-11-20T10:00:00Z",
         "provider": "openai", "model": "gpt-4o-mini", "usage": {"input_tokens": -1 - n}}
        for n in range(BAD_EVENTS)
    ]  # fmt: skip
    envelope = orjson.dumps({"events": events})
    assert stack.worker is not None

    def letters(of: str = tenant) -> list[dict[str, Any]]:
        found = [orjson.loads(v) for _, v in stack.read_topic(stack.settings.topic_dlq)]
        return [letter for letter in found if letter["tenant_id"] == of]

    # one small bad envelope first: what the first dead letter loads once is not growth
    warm = f"{tenant}-warm"
    stack.publish([(warm.encode(), orjson.dumps({"events": [{**events[0], "tenant_id": warm}] * 2}))])
    wait_until(lambda: len(letters(warm)) >= 1, 60, what="the first dead letter")
    before = rss_bytes(stack.worker.pid)
    stack.publish([(tenant.encode(), envelope)])

    dead = wait_until(lambda: (found := letters()) and len(found) >= BAD_EVENTS and found, 120, what="dead letters")
    grown = rss_bytes(stack.worker.pid) - before
    print(f"worker RSS grew {grown:,} bytes for a {len(envelope):,}-byte envelope of {BAD_EVENTS} bad events")
    assert len(dead) == BAD_EVENTS
    assert all("input_tokens" in letter["error"] for letter in dead)
    originals = {letter["event_id"]: orjson.loads(base64.b64decode(letter["original_b64"])) for letter in dead}
    assert originals[f"{nonce}-42"] == events[42]
    assert grown < GROWTH_PER_ENVELOPE_BYTE * len(envelope), f"RSS grew {grown:,} B for a {len(envelope):,} B envelope"
    rows = stack.query("SELECT count() AS n FROM dead_letters WHERE tenant_id = {t:String}", t=tenant)
    assert rows[0]["n"] == BAD_EVENTS
