"""Poison input: malformed events of every kind become dead letters with a reason, the
worker keeps going, and in = priced + unpriced + dead letters."""

import json
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.integration.helpers import canonical_event
from tests.stack import Stack, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
VALID_KEYS = ("event_id", "tenant_id", "occurred_at", "provider", "model", "usage")


def base_event() -> dict[str, Any]:
    return canonical_event("x", "t", datetime(2026, 5, 1, tzinfo=UTC), 100, 10)


@st.composite
def broken_event(draw: st.DrawFn) -> bytes:
    kind = draw(st.sampled_from(["wrong_type", "missing", "bytes", "deep", "huge", "negative", "junk", "shape"]))
    event = base_event()
    if kind == "wrong_type":
        key = draw(st.sampled_from(VALID_KEYS))
        # an event without a model (null, as if absent) is valid: unpriced, not poison
        event[key] = draw(JSON.filter(lambda v: not isinstance(v, str | dict) and (key != "model" or v is not None)))
    elif kind == "missing":
        del event[draw(st.sampled_from(("event_id", "tenant_id", "occurred_at", "provider")))]
    elif kind == "bytes":
        return draw(st.binary(min_size=1, max_size=200).filter(lambda b: not b.strip().startswith((b"{", b"["))))
    elif kind == "deep":
        depth = draw(st.integers(600, 5000))
        nested = b"[" * depth + b"1" + b"]" * depth
        return b'{"events": ' + nested + b"}" if draw(st.booleans()) else nested
    elif kind == "huge":
        event["model"] = "m" * draw(st.integers(300_000, 900_000))  # under Kafka's 1 MB message limit
    elif kind == "negative":
        event["usage"]["input_tokens"] = draw(st.integers(max_value=-1))
    elif kind == "junk":
        event["occurred_at"] = draw(st.text(min_size=1, max_size=30).filter(lambda s: not s[:1].isdigit()))
    else:
        return orjson.dumps(draw(st.sampled_from([{"events": "nope"}, {"events": [1, 2]}, [event], "x", 42])))
    return json.dumps(event).encode()  # json, not orjson: integers past 64 bits are poison too


def test_malformed_input_is_dead_lettered_with_reasons_and_nothing_is_lost(stack: Stack) -> None:
    poison: list[bytes] = []

    @settings(max_examples=150, deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.large_base_example])
    @given(broken_event())
    def collect(message: bytes) -> None:
        poison.append(message)

    collect()
    poison.append(b"\xff\xfe invalid utf-8 \xc3\x28")
    poison.append("\u202e\u0000 unicode junk \U0001f4a5".encode())
    tenant = f"poison-{uuid.uuid4().hex[:8]}"
    valid = [orjson.dumps(canonical_event(f"{tenant}-{n}", tenant, datetime.now(UTC), 100, 10)) for n in range(50)]
    unknown = orjson.dumps({**canonical_event(f"{tenant}-u", tenant, datetime.now(UTC), 100, 10), "model": "nope-9"})
    messages = [*poison, *valid, unknown]
    before = stack.stats()
    stack.publish([(tenant.encode(), m) for m in messages])

    def delta() -> dict[str, int]:
        now = stack.stats()
        return {k: now[k] - before[k] for k in ("messages", "events_priced", "events_unpriced", "dead_letters")}

    wait_until(lambda: delta()["messages"] == len(messages), 120, what="every message consumed")
    wait_until(lambda: delta()["events_priced"] == len(valid), 30, what="the valid events priced")
    counts = delta()
    assert counts["events_unpriced"] == 1
    # one dead letter per refused message, or per refused event inside an envelope
    two_bad_events = poison.count(orjson.dumps({"events": [1, 2]}))
    assert counts["dead_letters"] == len(poison) + two_bad_events
    events_in = len(messages) + two_bad_events
    assert events_in == counts["events_priced"] + counts["events_unpriced"] + counts["dead_letters"]
    assert stack.ready()

    rows = stack.query("SELECT error_type, error FROM dead_letters WHERE dead_lettered_at >= now() - 600")
    reasons = [r["error"] for r in rows]
    assert len(rows) >= len(poison) and all(reason.strip() for reason in reasons)
    letters = [orjson.loads(value) for _, value in stack.read_topic(stack.settings.topic_dlq)]
    assert len(letters) >= len(poison) and all(letter["error"] and letter["original_b64"] for letter in letters)
    stack.assert_no_drift()
