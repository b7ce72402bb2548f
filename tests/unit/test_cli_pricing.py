"""`costream price` and `costream prices ...`: no Kafka, no ClickHouse, same code as the agent."""

import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import yaml

M = Decimal(1_000_000)


def costream(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "stream.cli.main", *args], input=stdin, capture_output=True,
                          text=True, timeout=120, env={"PATH": "/usr/bin:/bin", "COLUMNS": "200"})


EVENT = {
    "event_id": "e1", "tenant_id": "acme", "occurred_at": "2026-11-20T10:00:00Z", "provider": "anthropic",
    "model": "claude-sonnet-4-5",
    "response": {"usage": {"input_tokens": 100, "cache_read_input_tokens": 2000, "cache_creation_input_tokens": 0,
                           "output_tokens": 50}},
}


def test_price_reads_stdin_and_writes_one_line_per_event() -> None:
    batch = {"events": [EVENT, {**EVENT, "event_id": "e2", "response": {"usage": {"input_tokens": -1}}}]}
    lines = "\n".join([json.dumps(EVENT), "not json", json.dumps(batch)])
    result = costream("price", stdin=lines)
    assert result.returncode == 0, result.stderr
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(out) == 4
    first = out[0]
    # claude-sonnet-4-5: $3 input, $0.30 cache read, $15 output per MTok
    expected = 100 * Decimal(3) / M + 2000 * Decimal("0.3") / M + 50 * Decimal(15) / M
    assert Decimal(first["total_cost"]) == expected
    assert first["tokens"]["input_tokens"] == 2100 and first["tracking_type"] == "tokens"
    errors = [line for line in out if "error" in line]
    assert {e["error"]["type"] for e in errors} == {"not_json", "invalid_usage"}
    assert any(e["event_id"] == "e2" and "input_tokens" in e["error"]["message"] for e in errors)


def test_prices_show_prints_the_rates_in_force() -> None:
    result = costream("prices", "show", "claude-sonnet-4-5", "--provider", "anthropic", "--at",
                      "2026-11-20T00:00:00Z")
    assert result.returncode == 0, result.stderr
    assert "anthropic/claude-sonnet-4-5" in result.stdout
    assert "cache_read" in result.stdout and "0.3" in result.stdout
    unknown = costream("prices", "show", "acme-finetune-v7", "--provider", "openai")
    assert unknown.returncode == 1 and "no price" in unknown.stderr and "Traceback" not in unknown.stderr


def test_prices_check_lists_unpriced_models(tmp_path: Path) -> None:
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps({**EVENT, "event_id": str(n), "model": model})
                                for n, model in enumerate(["claude-sonnet-4-5", "mystery-1", "mystery-1"])))
    result = costream("prices", "check", str(events))
    assert result.returncode == 1
    assert "mystery-1" in result.stdout and "2" in result.stdout
    assert "claude-sonnet-4-5" not in result.stdout


def test_prices_diff_shows_what_an_update_changes(tmp_path: Path) -> None:
    old = tmp_path / "old.yaml"
    new = tmp_path / "new.yaml"
    entry = {"model": "acme-finetune-v7", "effective_from": "2026-01-01T00:00:00Z",
             "rates": {"input": "0.30", "output": "1.20"}}
    old.write_text(yaml.safe_dump({"overrides": [entry]}))
    new.write_text(yaml.safe_dump({"overrides": [{**entry, "rates": {"input": "0.25", "output": "1.20"}}]}))
    result = costream("prices", "diff", str(new), "--old", str(old), "--at", "2026-11-20T00:00:00Z")
    assert result.returncode == 0, result.stderr
    assert "acme-finetune-v7" in result.stdout and "0.25" in result.stdout and "0.30" in result.stdout
    assert "changed" in result.stdout
    bad = tmp_path / "bad.yaml"
    bad.write_text("overrides: [{model: x}]")
    refused = costream("prices", "diff", str(bad), "--old", str(old))
    assert refused.returncode == 2 and "effective_from" in refused.stderr and "Traceback" not in refused.stderr
