"""Each limit on the real stack: one event at it is stored, one over it is a dead letter
whose reason names the field and the limit."""

import base64
import uuid
from typing import Any

import orjson
import pytest

from schemas.limits import (
    MAX_EVENT_COST_USD,
    MAX_EVENTS_PER_BATCH,
    MAX_ID_CHARS,
    MAX_LABEL_CHARS,
    MAX_TAGS_PER_EVENT,
    MAX_TOKENS_PER_EVENT,
)  # fmt: skip
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration


def test_each_limit_stores_the_event_at_it_and_dead_letters_the_one_over_it(stack: Stack) -> None:
    nonce = uuid.uuid4().hex[:8]
    tenant = f"limits-{nonce}"

    def event(name: str, **changes: Any) -> dict[str, Any]:
        base: dict[str, Any] = {"event_id": f"{nonce}-{name}", "tenant_id": tenant,
                                "occurred_at": "2026-11-20T10:00:00Z", "provider": "generic", "model": "m",
                                "usage": {"input_tokens": 1}}  # fmt: skip
        return {**base, **changes}

    long_id = f"{nonce}-id-"
    cases: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
        "event_id": (event("", event_id=long_id.ljust(MAX_ID_CHARS, "a")),
                     event("", event_id=long_id.ljust(MAX_ID_CHARS + 1, "a")), str(MAX_ID_CHARS)),
        "label": (event("label-at", attributes={"feature": "f" * MAX_LABEL_CHARS}),
                  event("label-over", attributes={"feature": "f" * (MAX_LABEL_CHARS + 1)}), str(MAX_LABEL_CHARS)),
        "tags": (event("tags-at", attributes={"tags": {f"k{i}": "v" for i in range(MAX_TAGS_PER_EVENT)}}),
                 event("tags-over", attributes={"tags": {f"k{i}": "v" for i in range(MAX_TAGS_PER_EVENT + 1)}}),
                 str(MAX_TAGS_PER_EVENT)),
        "tokens": (event("tokens-at", usage={"input_tokens": MAX_TOKENS_PER_EVENT}),
                   event("tokens-over", usage={"input_tokens": MAX_TOKENS_PER_EVENT + 1}), str(MAX_TOKENS_PER_EVENT)),
        "cost": (event("cost-at", provider_cost_usd=str(MAX_EVENT_COST_USD)),
                 event("cost-over", provider_cost_usd=f"{MAX_EVENT_COST_USD}.000000000000000001"),
                 str(MAX_EVENT_COST_USD)),
    }  # fmt: skip
    singles = [case[i] for case in cases.values() for i in (0, 1)]
    full = {"events": [event(f"batch-{n}") for n in range(MAX_EVENTS_PER_BATCH)]}
    too_many = {"events": [event(f"toomany-{n}") for n in range(MAX_EVENTS_PER_BATCH + 1)]}
    stack.publish([(tenant.encode(), orjson.dumps(e)) for e in singles]
                  + [(tenant.encode(), orjson.dumps(full)), (tenant.encode(), orjson.dumps(too_many))])  # fmt: skip

    expected_rows = len(cases) + MAX_EVENTS_PER_BATCH

    def stored() -> set[str]:
        rows = stack.query("SELECT event_id FROM usage_events WHERE tenant_id = {t:String}", t=tenant)
        return {row["event_id"] for row in rows}

    ids = wait_until(lambda: (found := stored()) and len(found) >= expected_rows and found, 120,
                     what=f"{expected_rows} rows")  # fmt: skip
    assert len(ids) == expected_rows
    assert {at["event_id"] for at, _, _ in cases.values()} <= ids
    assert not any(event_id.startswith(f"{nonce}-toomany") for event_id in ids)

    def letters() -> list[dict[str, Any]]:
        found = []
        for _, value in stack.read_topic(stack.settings.topic_dlq):
            letter = orjson.loads(value)
            if tenant.encode() in base64.b64decode(letter["original_b64"])[:4096] or letter.get("tenant_id") == tenant:
                found.append(letter)
        return found

    dead = wait_until(lambda: (found := letters()) and len(found) >= len(cases) + 1 and found, 60, what="dead letters")
    assert len(dead) == len(cases) + 1
    for name, (_, over, limit) in cases.items():
        # a dead letter carries at most MAX_ID_CHARS of the id it could not take
        letter = next(d for d in dead if d["event_id"] == over["event_id"][:MAX_ID_CHARS])
        assert limit in letter["error"].replace(",", ""), (name, letter["error"])
    (envelope,) = [d for d in dead if d["error_type"] == "invalid_envelope"]
    assert str(MAX_EVENTS_PER_BATCH) in envelope["error"].replace(",", "")
