"""Every report on the real stack, against numbers computed here from stated rates.

Events are seeded on fixed past days; the worker prices them, stores them, and rolls
them into windows and day/hour rollups; the reports are then read through the HTTP API
(and the CLI), from rollups where they can answer and from the events otherwise.
"""

import csv
import io
import subprocess
import sys
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from tests.integration.helpers import GPT_4O_MINI_CACHED, GPT_4O_MINI_INPUT, MILLION, gpt_4o_mini_cost
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration

DAYS = [datetime(2026, 10, day, tzinfo=UTC) for day in (5, 6, 7)]
SINCE, UNTIL = "2026-10-05", "2026-10-08"
DRIFT_PER_EVENT = Decimal("0.001")
UNKNOWN_MODEL = "acme-internal-llm"


@dataclass
class Seeded:
    a: str
    b: str
    events: list[dict[str, Any]]

    def of(self, tenant: str, priced_only: bool = False) -> list[dict[str, Any]]:
        return [e for e in self.events
                if e["tenant_id"] == tenant and not (priced_only and e["model"] == UNKNOWN_MODEL)]


def usage(e: dict[str, Any]) -> tuple[int, int, int]:
    u = e["usage"]
    return u["input_tokens"], u["cache_read_tokens"], u["output_tokens"]


def book_cost(e: dict[str, Any]) -> Decimal:
    return gpt_4o_mini_cost(*usage(e))


def cost_of_record(e: dict[str, Any]) -> Decimal:
    """What a report's cost column counts: reported cost, else book cost; unpriced adds nothing."""
    if e["model"] == UNKNOWN_MODEL:
        return Decimal(0)
    return Decimal(e["provider_cost_usd"]) if "provider_cost_usd" in e else book_cost(e)


def event(nonce: str, n: int, tenant: str, at: datetime, input_tokens: int, cached: int, output: int,
          **attributes: Any) -> dict[str, Any]:
    return {
        "event_id": f"{nonce}-{n}", "tenant_id": tenant, "occurred_at": at.isoformat(), "provider": "openai",
        "model": "gpt-4o-mini",
        "usage": {"input_tokens": input_tokens, "cache_read_tokens": cached, "output_tokens": output},
        "attributes": attributes,
    }


@pytest.fixture(scope="module")
def seeded(stack: Stack) -> Seeded:
    nonce = uuid.uuid4().hex[:8]
    a, b = f"rep-{nonce}-a", f"rep-{nonce}-b"
    events = []
    for i in range(12):
        at = DAYS[i % 3] + timedelta(hours=10 + i % 4, minutes=i)
        events.append(event(
            nonce, i, a, at, 1000 * (i + 1), 200 * (i % 3), 100 * (i + 1),
            feature="chat" if i % 2 else "search", user_id=f"u{i % 3}", session_id="s-1" if i < 4 else "s-2",
            request_id=f"req-{nonce}-{i}", api_key_id="k1", latency_ms=100 + 10 * i,
        ))
    for i in range(5):
        events.append(event(nonce, 100 + i, b, DAYS[1] + timedelta(hours=9, minutes=i), 5000, 1000, 500,
                            feature="chat"))
    for i, day in enumerate((DAYS[0], DAYS[2])):
        unknown = event(nonce, 200 + i, a, day + timedelta(hours=8), 700, 0, 70, feature="chat")
        unknown["model"] = UNKNOWN_MODEL
        events.append(unknown)
    for i in range(2):
        drifted = event(nonce, 300 + i, a, DAYS[1] + timedelta(hours=15, minutes=i), 2000, 0, 300, feature="search")
        drifted["provider_cost_usd"] = str(book_cost(drifted) + DRIFT_PER_EVENT)
        events.append(drifted)
    stack.publish([(e["tenant_id"].encode(), orjson.dumps(e)) for e in events])
    seeded = Seeded(a, b, events)
    want = {a: len(seeded.of(a)), b: len(seeded.of(b))}

    def rolled_up() -> bool:
        rows = report(stack, "cost", by="tenant", since=SINCE, until=UNTIL)["rows"]
        return {row[0]: row[1] for row in rows if row[0] in want} == want

    wait_until(rolled_up, 120, interval=1, what="the seeded events to reach the day rollups")
    return seeded


def report(stack: Stack, name: str, token: str | None = None, **query: Any) -> dict[str, Any]:
    answer: dict[str, Any] = stack.http(f"/v1/reports/{name}?{urlencode(query)}", token=token)
    return answer


def records(answer: dict[str, Any]) -> list[dict[str, Any]]:
    return [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]


def q(value: Decimal, quantum: str) -> Decimal:
    return value.quantize(Decimal(quantum), ROUND_HALF_EVEN)


def test_total_cost_and_requests_come_from_the_day_rollup(stack: Stack, seeded: Seeded) -> None:
    answer = report(stack, "cost", tenant=seeded.a, since=SINCE, until=UNTIL)
    assert answer["source"] == "usage_rollup_day"
    (row,) = records(answer)
    events = seeded.of(seeded.a)
    assert Decimal(row["cost"]) == sum(map(cost_of_record, events))
    assert row["requests"] == len(events) and row["unpriced_requests"] == 2
    assert row["input_tokens"] == sum(usage(e)[0] for e in events)


def test_cost_by_model_and_day_and_by_feature(stack: Stack, seeded: Seeded) -> None:
    expected: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    by_feature: dict[str, Decimal] = defaultdict(Decimal)
    for e in seeded.of(seeded.a):
        model = "openai/gpt-4o-mini" if e["model"] != UNKNOWN_MODEL else UNKNOWN_MODEL
        expected[(model, e["occurred_at"][:10])] += cost_of_record(e)
        by_feature[e["attributes"]["feature"]] += cost_of_record(e)
    rows = records(report(stack, "cost", tenant=seeded.a, since=SINCE, until=UNTIL, by="model,day"))
    assert {(r["model"], r["day"]): Decimal(r["cost"]) for r in rows} == expected
    rows = records(report(stack, "cost", tenant=seeded.a, since=SINCE, until=UNTIL, by="feature"))
    assert {r["feature"]: Decimal(r["cost"]) for r in rows} == by_feature


def test_groupings_the_rollups_lack_read_the_events_with_the_same_numbers(stack: Stack, seeded: Seeded) -> None:
    by_type: dict[str, Decimal] = defaultdict(Decimal)
    by_user: dict[str, int] = defaultdict(int)
    for e in seeded.of(seeded.a):
        kind = "unpriced" if e["model"] == UNKNOWN_MODEL else "provider_cost" if "provider_cost_usd" in e else "tokens"
        by_type[kind] += cost_of_record(e)
        by_user[e["attributes"].get("user_id", "")] += 1
    answer = report(stack, "cost", tenant=seeded.a, since=SINCE, until=UNTIL, by="tracking_type")
    assert answer["source"] == "usage_events"
    assert {r["tracking_type"]: Decimal(r["cost"]) for r in records(answer)} == by_type
    rows = records(report(stack, "cost", tenant=seeded.a, since=SINCE, until=UNTIL, by="user"))
    assert {r["user"]: r["requests"] for r in rows} == by_user
    # a period that does not start on an hour reads the events, and counts only what is in it
    since = DAYS[1] + timedelta(hours=10, minutes=30)
    answer = report(stack, "cost", tenant=seeded.a, since=since.isoformat(), until=UNTIL)
    assert answer["source"] == "usage_events"
    inside = [e for e in seeded.of(seeded.a) if datetime.fromisoformat(e["occurred_at"]) >= since]
    assert Decimal(records(answer)[0]["cost"]) == sum(map(cost_of_record, inside))


def test_hourly_time_series(stack: Stack, seeded: Seeded) -> None:
    expected: dict[str, int] = defaultdict(int)
    for e in seeded.of(seeded.b):
        expected[e["occurred_at"][:13]] += 1
    answer = report(stack, "cost", tenant=seeded.b, since=SINCE, until=UNTIL, by="hour")
    assert answer["source"] == "usage_rollup_hour"
    assert {r["hour"][:13]: r["requests"] for r in records(answer)} == expected


def test_top_spenders_with_their_share(stack: Stack, seeded: Seeded) -> None:
    per_user: dict[str, Decimal] = defaultdict(Decimal)
    for e in seeded.of(seeded.a):
        if "user_id" in e["attributes"]:
            per_user[e["attributes"]["user_id"]] += cost_of_record(e)
    # users are not a window dimension here, so this reads the events
    rows = records(report(stack, "top", tenant=seeded.a, since=SINCE, until=UNTIL, by="user", limit=2))
    total = sum(map(cost_of_record, seeded.of(seeded.a)))
    ranked = sorted(per_user.items(), key=lambda kv: -kv[1])[:2]
    assert [(r["user"], Decimal(r["cost"])) for r in rows] == ranked
    assert [Decimal(r["share_pct"]) for r in rows] == [q(cost * 100 / total, "0.0001") for _, cost in ranked]


def test_four_way_breakdown_per_model_and_day(stack: Stack, seeded: Seeded) -> None:
    rows = {(r["model"], r["day"]): r for r in records(
        report(stack, "breakdown", tenant=seeded.b, since=SINCE, until=UNTIL)
    )}
    events = seeded.of(seeded.b)
    row = rows[("openai/gpt-4o-mini", "2026-10-06")]
    inputs, cached, outputs = (sum(usage(e)[k] for e in events) for k in range(3))
    assert row["uncached_input_tokens"] == inputs - cached and row["cache_read_tokens"] == cached
    assert row["output_tokens"] == outputs and row["cache_write_tokens"] == 0
    assert Decimal(row["input_cost"]) == (inputs - cached) * GPT_4O_MINI_INPUT / MILLION
    assert Decimal(row["cache_read_cost"]) == cached * GPT_4O_MINI_CACHED / MILLION
    assert Decimal(row["output_cost"]) == outputs * Decimal("0.6") / MILLION
    parts = sum(Decimal(row[k]) for k in ("input_cost", "cache_read_cost", "cache_write_cost", "output_cost",
                                          "reasoning_cost", "other_cost"))
    assert parts == Decimal(row["token_cost"]) == Decimal(row["cost"])


def test_cache_hit_ratio_and_savings(stack: Stack, seeded: Seeded) -> None:
    events = seeded.of(seeded.a, priced_only=True)
    inputs = sum(usage(e)[0] for e in events)
    cached = sum(usage(e)[1] for e in events)
    (row,) = records(report(stack, "cache", tenant=seeded.a, since=SINCE, until=UNTIL, by="tenant"))
    assert row["cache_read_tokens"] == cached
    assert Decimal(row["cache_savings"]) == cached * (GPT_4O_MINI_INPUT - GPT_4O_MINI_CACHED) / MILLION
    all_inputs = inputs + sum(usage(e)[0] for e in seeded.of(seeded.a) if e["model"] == UNKNOWN_MODEL)
    assert Decimal(row["cache_hit_ratio"]) == q(Decimal(cached) / all_inputs, "0.0001")


def test_efficiency_metrics(stack: Stack, seeded: Seeded) -> None:
    events = seeded.of(seeded.a)
    cost = sum(map(cost_of_record, events))
    inputs, outputs = sum(usage(e)[0] for e in events), sum(usage(e)[2] for e in events)
    latencies = [e["attributes"]["latency_ms"] for e in events if "latency_ms" in e["attributes"]]
    (row,) = records(report(stack, "efficiency", tenant=seeded.a, since=SINCE, until=UNTIL, by="tenant"))
    assert Decimal(row["cost_per_1k_tokens"]) == q(cost * 1000 / (inputs + outputs), "1e-18")
    assert Decimal(row["avg_cost_per_request"]) == q(cost / len(events), "1e-18")
    assert Decimal(row["avg_tokens_per_request"]) == q(Decimal(inputs + outputs) / len(events), "0.01")
    assert Decimal(row["input_output_ratio"]) == q(Decimal(inputs) / outputs, "0.0001")
    assert Decimal(row["avg_latency_ms"]) == q(Decimal(sum(latencies)) / len(latencies), "0.1")


def test_per_request_drill_down_by_session_and_request_id(stack: Stack, seeded: Seeded) -> None:
    session = [e for e in seeded.of(seeded.a) if e["attributes"].get("session_id") == "s-1"]
    rows = records(report(stack, "requests", tenant=seeded.a, session="s-1"))
    assert sorted(r["event_id"] for r in rows) == sorted(e["event_id"] for e in session)
    times = [r["occurred_at"] for r in rows]
    assert times == sorted(times, reverse=True)
    target = session[2]
    (row,) = records(report(stack, "requests", tenant=seeded.a, request=target["attributes"]["request_id"]))
    inputs, cached, _ = usage(target)
    assert row["event_id"] == target["event_id"] and row["feature"] == target["attributes"]["feature"]
    assert Decimal(row["input_cost"]) == (inputs - cached) * GPT_4O_MINI_INPUT / MILLION
    assert Decimal(row["cost"]) == book_cost(target)


def test_unpriced_models_are_listed_with_tokens_and_first_seen(stack: Stack, seeded: Seeded) -> None:
    unknown = [e for e in seeded.of(seeded.a) if e["model"] == UNKNOWN_MODEL]
    (row,) = records(report(stack, "unpriced", tenant=seeded.a))
    assert (row["provider"], row["model"], row["requests"]) == ("openai", UNKNOWN_MODEL, len(unknown))
    assert row["input_tokens"] == sum(usage(e)[0] for e in unknown)
    assert row["first_seen"].startswith(min(e["occurred_at"] for e in unknown)[:19])
    assert row["last_seen"].startswith(max(e["occurred_at"] for e in unknown)[:19])


def test_price_drift_by_model(stack: Stack, seeded: Seeded) -> None:
    drifted = [e for e in seeded.of(seeded.a) if "provider_cost_usd" in e]
    (row,) = records(report(stack, "drift", tenant=seeded.a))
    assert row["model"] == "openai/gpt-4o-mini" and row["requests"] == len(drifted)
    assert Decimal(row["drift"]) == DRIFT_PER_EVENT * len(drifted) and row["disagreeing_requests"] == len(drifted)
    book = sum(map(book_cost, drifted))
    assert Decimal(row["token_cost"]) == book
    assert Decimal(row["drift_pct"]) == q(DRIFT_PER_EVENT * len(drifted) * 100 / book, "0.0001")


def test_month_to_date_and_projection(stack: Stack, seeded: Seeded) -> None:
    as_of = datetime(2026, 10, 11, tzinfo=UTC)  # 10 of October's 31 days elapsed
    rows = {r["tenant"]: r for r in records(report(stack, "projection", until=as_of.isoformat()))}
    for tenant in (seeded.a, seeded.b):
        mtd = sum(map(cost_of_record, seeded.of(tenant)))
        assert Decimal(rows[tenant]["month_to_date"]) == mtd
        assert Decimal(rows[tenant]["projected_month_end"]) == q(mtd * 31 / 10, "0.000001")
        assert rows[tenant]["month"] == "2026-10"


def test_cli_report_csv_round_trips_to_the_api_numbers(stack: Stack, seeded: Seeded) -> None:
    args = ["report", "breakdown", "--tenant", seeded.a, "--since", SINCE, "--until", UNTIL, "--format", "csv"]
    done = subprocess.run([sys.executable, "-m", "stream.cli.main", *args], env=stack.env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    parsed = list(csv.DictReader(io.StringIO(done.stdout)))
    api = records(report(stack, "breakdown", tenant=seeded.a, since=SINCE, until=UNTIL))
    assert len(parsed) == len(api) > 0
    for from_csv, from_api in zip(parsed, api, strict=True):
        assert from_csv.keys() == from_api.keys()
        for column, value in from_api.items():
            text = "" if value is None else str(value)
            if column.endswith("cost"):
                assert Decimal(from_csv[column]) == Decimal(text)
            else:
                assert from_csv[column] == text


def test_cli_report_errors_are_one_line_without_traceback(stack: Stack) -> None:
    done = subprocess.run([sys.executable, "-m", "stream.cli.main", "report", "cost", "--by", "colour"],
                          env=stack.env, capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr
    assert "by.0" in done.stderr and "tenant" in done.stderr
