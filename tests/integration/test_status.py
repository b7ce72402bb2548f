"""``costream status`` and the budget status and breaches endpoints on the real stack."""

import json
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.integration.helpers import canonical_event, gpt_4o_mini_cost
from tests.stack import Stack, free_port, wait_until

pytestmark = pytest.mark.integration

# One event of 1,000,000 input tokens of gpt-4o-mini costs $0.15 (stated rate); six of
# them are $0.90: 90% of a $1.00 limit, past the 50% and 80% warn thresholds, not 100%.
EVENTS = 6
SPEND = EVENTS * gpt_4o_mini_cost(1_000_000, 0, 0)


def costream(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stream.cli.main", *args], env={**env, "COLUMNS": "80"},
                          capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def near_budget(stack: Stack) -> dict[str, str]:
    assert Decimal("0.90") == SPEND
    tenant = f"status-{uuid.uuid4().hex[:8]}"
    budget_id = f"{tenant}-daily"
    done = costream(stack.env, "budgets", "set", "--id", budget_id, "--tenant", tenant, "--period", "day",
                    "--limit", "1.00")
    assert done.returncode == 0, done.stderr
    wait_until(lambda: any(b["id"] == budget_id for b in stack.http("/v1/budgets")), 30, what="the budget")
    now = datetime.now(UTC)
    events = [canonical_event(f"{tenant}-{n}", tenant, now, 1_000_000, 0) for n in range(EVENTS)]
    stack.publish([(tenant.encode(), json.dumps(e).encode()) for e in events] + [(tenant.encode(), b"not json")])
    wait_until(lambda: len([b for b in stack.http("/v1/breaches?limit=200") if b["budget_id"] == budget_id]) >= 2,
               60, what="two warn breaches")
    return {"tenant": tenant, "budget_id": budget_id}


def test_status_json_has_every_part_an_operator_needs(stack: Stack, near_budget: dict[str, str]) -> None:
    done = costream(stack.env, "status", "--format", "json")
    assert done.returncode == 0, done.stdout + done.stderr
    doc: dict[str, Any] = json.loads(done.stdout)
    assert doc["healthy"] is True
    assert doc["broker"]["reachable"] and doc["store"]["reachable"] and doc["worker"]["running"]
    lag = doc["lag"]
    assert lag["topic"] == stack.settings.topic_raw
    assert [p["partition"] for p in lag["partitions"]] == [0, 1, 2, 3]  # the stack's 4 partitions
    assert lag["total"] == sum(p["lag"] for p in lag["partitions"])
    assert all(p["lag"] == max(0, p["end_offset"] - (p["committed"] or 0)) for p in lag["partitions"])
    assert sum(p["end_offset"] for p in lag["partitions"]) >= 1  # our messages (Tansu counts a batch as one offset)
    last_batch = datetime.fromisoformat(doc["worker"]["last_batch_at"])
    assert (datetime.now(UTC) - last_batch).total_seconds() < 300
    assert doc["worker"]["throughput"]["over_seconds"] > 0
    assert doc["dead_letters"]["count"] >= 1 and doc["dead_letters"]["by_error_type"].get("not_json", 0) >= 1
    ours = [b for b in doc["budgets"]["near_or_over"] if b["budget_id"] == near_budget["budget_id"]]
    assert len(ours) == 1
    assert ours[0]["state"] == "warn"
    assert ours[0]["spend_usd"] == "0.900000000000000000"  # plain decimal, exact
    assert Decimal(ours[0]["percent_used"]) == Decimal(90)
    assert "E" not in done.stdout.replace("KafkaConnectionE", "")  # no exponent anywhere


def test_status_table_names_the_budget_and_cuts_nothing_at_80_columns(stack: Stack,
                                                                     near_budget: dict[str, str]) -> None:
    done = costream(stack.env, "status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "healthy" in done.stdout and "reachable" in done.stdout
    assert near_budget["budget_id"] in done.stdout and "0.9" in done.stdout
    assert "…" not in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


def test_breaches_and_budget_status_endpoints(stack: Stack, near_budget: dict[str, str]) -> None:
    found = [b for b in stack.http("/v1/breaches?limit=200") if b["budget_id"] == near_budget["budget_id"]]
    thresholds = [Decimal(b["threshold_percent"]) for b in found if b["kind"] == "threshold"]
    assert thresholds == [Decimal(80), Decimal(50)]  # newest first
    assert [b["severity"] for b in found if b["kind"] == "threshold"] == ["warn", "warn"]
    assert all("E" not in b["spend_usd"] for b in found)
    statuses = {s["budget_id"]: s for s in stack.http("/v1/budgets/status")}
    ours = statuses[near_budget["budget_id"]]
    assert (ours["state"], Decimal(ours["spend_usd"]), Decimal(ours["limit_usd"])) == ("warn", SPEND, Decimal(1))


def test_status_without_a_worker_or_broker_says_so_and_fails(tmp_path: Path) -> None:
    env = {**os.environ, "COSTREAM_DATA_DIR": str(tmp_path), "COSTREAM_HTTP_PORT": str(free_port()),
           "COSTREAM_KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    done = costream(env, "status")
    assert done.returncode == 1
    assert "degraded" in done.stdout and "unreachable" in done.stdout and "not answering" in done.stdout
    assert "Traceback" not in done.stderr
