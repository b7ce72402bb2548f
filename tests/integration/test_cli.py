"""The `costream` command against the running embedded stack, as a user types it."""

import csv
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path

import orjson
import pytest

from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration


def costream(stack: Stack, *args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "stream.cli.main", *args],
        env=stack.env, input=stdin.decode() if stdin else None, capture_output=True, text=True, timeout=120,
    )


def test_publish_a_jsonl_file_then_query_it_in_every_format(stack: Stack, tmp_path: Path) -> None:
    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    lines = [
        orjson.dumps({
            "event_id": f"{tenant}-{n}", "tenant_id": tenant, "occurred_at": "2026-11-21T08:00:00Z",
            "provider": "generic", "model": "in-house", "usage": {"input_tokens": 100 + n, "output_tokens": n},
        })
        for n in range(25)
    ]
    lines.append(b"definitely not json " + tenant.encode())
    events_file = tmp_path / "events.jsonl"
    events_file.write_bytes(b"\n".join(lines) + b"\n\n")

    published = costream(stack, "publish", str(events_file))
    assert published.returncode == 0, published.stderr
    assert "published 26 message(s)" in published.stdout
    assert "1 line(s) were not valid JSON" in published.stdout

    sql = "SELECT tenant_id, count() AS n, sum(input_tokens) AS input FROM usage_events WHERE tenant_id = {t:String} GROUP BY tenant_id"  # noqa: E501
    expected_input = sum(100 + n for n in range(25))

    def as_json() -> list[dict[str, object]]:
        result = costream(stack, "query", sql, "--param", f"t={tenant}", "--format", "json")
        assert result.returncode == 0, result.stderr
        rows: list[dict[str, object]] = json.loads(result.stdout)
        return rows

    rows = wait_until(lambda: (found := as_json()) and found[0]["n"] == 25 and found, 60, what="25 rows")
    assert rows == [{"tenant_id": tenant, "n": 25, "input": expected_input}]

    as_csv = costream(stack, "query", sql, "--param", f"t={tenant}", "--format", "csv")
    parsed = list(csv.reader(io.StringIO(as_csv.stdout)))
    assert parsed == [["tenant_id", "n", "input"], [tenant, "25", str(expected_input)]]

    table = costream(stack, "query", sql, "--param", f"t={tenant}")
    assert tenant in table.stdout and str(expected_input) in table.stdout


def test_query_is_read_only(stack: Stack) -> None:
    result = costream(stack, "query", "DROP TABLE usage_events")
    assert result.returncode != 0
    assert "readonly" in result.stderr.lower()
    assert "Traceback" not in result.stderr
    assert stack.query("SELECT count() AS n FROM system.tables WHERE name = 'usage_events'")[0]["n"] == 1


def test_cli_errors_say_what_to_do_without_a_traceback(stack: Stack, tmp_path: Path) -> None:
    missing = costream(stack, "publish", str(tmp_path / "nope.jsonl"))
    assert missing.returncode == 2
    assert "no such file" in missing.stderr and "Traceback" not in missing.stderr

    bad_sql = costream(stack, "query", "SELEKT 1")
    assert bad_sql.returncode != 0
    assert "query failed" in bad_sql.stderr and "Traceback" not in bad_sql.stderr

    bad_param = costream(stack, "query", "SELECT 1", "--param", "novalue")
    assert bad_param.returncode == 2 and "NAME=VALUE" in bad_param.stderr

    unreachable = subprocess.run(
        [sys.executable, "-m", "stream.cli.main", "publish", "-"],
        env={**stack.env, "COSTREAM_KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"},
        input='{"a": 1}\n', capture_output=True, text=True, timeout=120,
    )
    assert unreachable.returncode == 2
    assert "cannot reach Kafka" in unreachable.stderr and "Traceback" not in unreachable.stderr


def test_reconcile_reports_no_drift_from_a_running_worker(stack: Stack) -> None:
    table = costream(stack, "reconcile")
    assert table.returncode == 0, table.stderr
    assert "no drift" in table.stdout
    answer = costream(stack, "reconcile", "--format", "json", "--no-repair")
    assert answer.returncode == 0, answer.stderr
    report = json.loads(answer.stdout)
    assert report["clean"] is True and report["repaired"] is False and report["drift_usd"] == "0"


def test_reconcile_without_a_worker_says_how_to_start_one(stack: Stack) -> None:
    env = {**stack.env, "COSTREAM_HTTP_PORT": "9"}  # nothing listens there
    result = subprocess.run([sys.executable, "-m", "stream.cli.main", "reconcile"], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0 and "no worker answers" in result.stderr and "Traceback" not in result.stderr
