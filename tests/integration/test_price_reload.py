"""A price update reaches the running worker without a restart; a broken one is refused."""

import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import orjson
import pytest
import yaml

from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration


def test_overrides_file_changes_apply_to_new_events_and_bad_files_are_refused(stack: Stack) -> None:
    tenant = f"reload-{uuid.uuid4().hex[:8]}"
    model = f"custom-{uuid.uuid4().hex[:6]}"

    def send(n: int) -> None:
        event = {"event_id": f"{tenant}-{n}", "tenant_id": tenant, "occurred_at": datetime.now(UTC).isoformat(),
                 "provider": "openai", "model": model, "usage": {"input_tokens": 1_000_000, "output_tokens": 0}}
        stack.publish([(tenant.encode(), orjson.dumps(event))])

    def row(n: int) -> dict[str, object] | None:
        rows = stack.query("SELECT priced, total_cost, price_source FROM usage_events WHERE event_id = {id:String}",
                           id=f"{tenant}-{n}")
        return rows[0] if rows else None

    send(0)
    first = wait_until(lambda: row(0), 60, what="the first event")
    assert first["priced"] is False and first["total_cost"] is None  # unknown model: unpriced, not $0

    stack.price_overrides.write_text(yaml.safe_dump({"overrides": [
        {"model": model, "effective_from": "2026-01-01T00:00:00Z", "rates": {"input": "2.50", "output": "10"}},
    ]}))

    attempts = iter(range(100, 200))  # a new event per attempt: one id, one row

    def priced_after_reload() -> dict[str, object] | None:
        n = next(attempts)
        send(n)
        found = wait_until(lambda: row(n), 30, what="an event after the overrides changed")
        return found if found["priced"] is True else None

    second = wait_until(priced_after_reload, 60, interval=2, what="the worker to reload the overrides")
    assert Decimal(str(second["total_cost"])) == Decimal("2.50")  # 1M input tokens at $2.50/MTok
    assert second["price_source"] == "operator"

    stack.price_overrides.write_text("overrides: [{model: broken}]\n")
    try:
        time.sleep(7)  # longer than the reload interval: the broken file has been seen and refused
        send(2)
        third = wait_until(lambda: row(2), 30, what="the third event")
        assert Decimal(str(third["total_cost"])) == Decimal("2.50")
        assert "not reloaded" in (stack.root / "worker.log").read_text()
    finally:
        stack.price_overrides.write_text("overrides: []\n")  # the session's worker restarts later
