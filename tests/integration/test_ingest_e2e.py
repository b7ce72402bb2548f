"""Raw events through the real embedded stack: Tansu -> Faust worker -> chDB.

N valid events (single messages and batch envelopes, several providers) and M invalid
ones go in; exactly N rows and M dead letters with reasons come out; publishing the
same messages again changes no row count and no total.
"""

import base64
import json
import uuid
from decimal import Decimal
from typing import Any

import orjson
import pytest

from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration

# Rates the price book holds for these models, per million tokens (stated, not read from code).
GPT_4O_MINI = {"input": Decimal("0.15"), "cached": Decimal("0.075"), "output": Decimal("0.6")}
MILLION = Decimal(1_000_000)


def openai_chat_event(tenant: str, n: int, prompt: int, cached: int, completion: int) -> dict[str, Any]:
    return {
        "event_id": f"{tenant}-oa-{n}",
        "tenant_id": tenant,
        "occurred_at": "2026-11-20T10:15:00.250Z",
        "provider": "openai",
        "api_flavor": "chat",
        "model": "gpt-4o-mini",
        "response": {
            "id": f"chatcmpl-{n}",
            "object": "chat.completion",
            "model": "gpt-4o-mini-2024-07-18",
            "usage": {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
                "prompt_tokens_details": {"cached_tokens": cached, "audio_tokens": 0},
                "completion_tokens_details": {"reasoning_tokens": 0, "audio_tokens": 0},
            },
        },
        "attributes": {"feature": "chat", "user_id": f"u{n % 3}"},
    }


def expected_gpt_4o_mini_cost(prompt: int, cached: int, completion: int) -> Decimal:
    return (
        (prompt - cached) * GPT_4O_MINI["input"]
        + cached * GPT_4O_MINI["cached"]
        + completion * GPT_4O_MINI["output"]
    ) / MILLION


def test_valid_rows_invalid_dead_letters_and_replay_changes_nothing(stack: Stack) -> None:
    nonce = uuid.uuid4().hex[:10]
    tenant_a, tenant_b = f"e2e-a-{nonce}", f"e2e-b-{nonce}"

    singles = [openai_chat_event(tenant_a, n, 1000 + 37 * n, 512 * (n % 2), 100 + n) for n in range(20)]
    batch = [openai_chat_event(tenant_b, 100 + n, 2000 + n, 0, 300 + 7 * n) for n in range(30)]
    generic = [
        {
            "event_id": f"{tenant_b}-gen-{n}",
            "tenant_id": tenant_b,
            "occurred_at": "2026-11-20T10:16:00Z",
            "provider": "generic",
            "model": "in-house-model",
            "usage": {"input_tokens": 10 * n + 1, "output_tokens": n},
        }
        for n in range(5)
    ]
    valid_count = len(singles) + len(batch) + len(generic)

    bad_batch_member = openai_chat_event(tenant_b, 999, 10, 0, 10)
    bad_batch_member["response"]["usage"]["prompt_tokens"] = -4
    invalid_messages = [
        f"not json at all {nonce}".encode(),
        json.dumps({"event_id": f"no-usage-{nonce}", "tenant_id": tenant_a,
                    "occurred_at": "2026-11-20T10:00:00Z", "provider": "openai", "model": "gpt-4o-mini",
                    "response": {"id": "x"}}).encode(),
        json.dumps({"event_id": f"naive-time-{nonce}", "tenant_id": tenant_a,
                    "occurred_at": "2026-11-20T10:00:00", "provider": "openai",
                    "usage": {"input_tokens": 1}}).encode(),
        json.dumps([1, 2, nonce]).encode(),
    ]
    messages: list[tuple[bytes | None, bytes]] = [(tenant_a.encode(), orjson.dumps(e)) for e in singles]
    messages.append((tenant_b.encode(), orjson.dumps({"events": [*batch, bad_batch_member, *generic]})))
    messages += [(None, m) for m in invalid_messages]
    invalid_count = len(invalid_messages) + 1  # + the bad member of the batch

    stack.publish(messages)

    def rows() -> int:
        result = stack.query(
            "SELECT count() AS n FROM usage_events WHERE tenant_id IN ({a:String}, {b:String})",
            a=tenant_a, b=tenant_b,
        )
        return int(result[0]["n"])

    wait_until(lambda: rows() == valid_count, 60, what=f"{valid_count} rows")

    def dead_letters() -> list[dict[str, Any]]:
        letters = [json.loads(value) for _, value in stack.read_topic(stack.settings.topic_dlq)]
        return [
            letter for letter in letters
            if nonce in base64.b64decode(letter["original_b64"]).decode("utf-8", "replace")
        ]

    letters = wait_until(lambda: (found := dead_letters()) and len(found) >= invalid_count and found, 60,
                         what="dead letters")
    assert len(letters) == invalid_count
    by_type: dict[str, list[str]] = {}
    for letter in letters:
        by_type.setdefault(letter["error_type"], []).append(letter["error"])
        assert letter["error"], "every dead letter carries a reason"
    assert len(by_type["not_json"]) == 1
    assert len(by_type["invalid_envelope"]) == 1
    assert any("occurred_at" in reason for reason in by_type["invalid_event"])
    usage_reasons = " | ".join(by_type["invalid_usage"])
    assert "prompt_tokens" in usage_reasons  # the negative count names its field
    assert "events[30]" in usage_reasons  # and its position in the batch
    assert "usage" in usage_reasons  # the event without any usage says so
    # the original bytes travel with the reason
    originals = {base64.b64decode(letter["original_b64"]) for letter in letters}
    assert f"not json at all {nonce}".encode() in originals

    totals_sql = (
        "SELECT tenant_id, count() AS n, sum(total_cost) AS cost, sum(input_tokens) AS input, "
        "countIf(NOT priced) AS unpriced FROM usage_events "
        "WHERE tenant_id IN ({a:String}, {b:String}) GROUP BY tenant_id ORDER BY tenant_id"
    )
    before = stack.query(totals_sql, a=tenant_a, b=tenant_b)
    expected_a = sum(
        expected_gpt_4o_mini_cost(e["response"]["usage"]["prompt_tokens"],
                                  e["response"]["usage"]["prompt_tokens_details"]["cached_tokens"],
                                  e["response"]["usage"]["completion_tokens"])
        for e in singles
    )
    assert Decimal(before[0]["cost"]) == expected_a
    assert before[1]["unpriced"] == len(generic)  # an unknown model is unpriced, not $0

    # Replay everything: same rows, same totals.
    processed = stack.stats()["messages"]
    stack.publish(messages)
    wait_until(lambda: stack.stats()["messages"] >= processed + len(messages), 60, what="the replay to be consumed")
    assert rows() == valid_count
    assert stack.query(totals_sql, a=tenant_a, b=tenant_b) == before
