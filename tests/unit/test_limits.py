"""The per-event cost limit applies to computed costs too, and the message size limit is
inclusive; the README states every limit with the value the code enforces."""

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import orjson
import yaml

from schemas import limits
from stream.ingest.decode import SourceMessage, decode_message
from stream.ingest.pipeline import process_messages
from stream.pricing import PriceBook

NOW = datetime(2026, 12, 1, tzinfo=UTC)


def event(n: int, input_tokens: int) -> dict[str, object]:
    return {"event_id": f"cost-{n}", "tenant_id": "t", "occurred_at": "2026-11-20T10:00:00Z",
            "provider": "generic", "model": "pricey-model", "usage": {"input_tokens": input_tokens}}  # fmt: skip


def test_a_computed_cost_over_the_limit_is_a_dead_letter_naming_it(tmp_path: Path) -> None:
    # $10,000,000 per million tokens = $10 per token: 100,000,000 input tokens cost exactly
    # $10^9 (at the limit); one output token more is $10 over it.
    overrides = tmp_path / "prices.yaml"
    overrides.write_text(yaml.safe_dump({"overrides": [
        {"model": "pricey-model", "effective_from": "2026-01-01T00:00:00Z",
         "rates": {"input": "10000000", "output": "10000000"}},
    ]}))  # fmt: skip
    over = {**event(3, 100_000_000), "usage": {"input_tokens": 100_000_000, "output_tokens": 1}}
    messages = [
        SourceMessage(orjson.dumps(event(1, 100_000_000)), None, "raw", 0, 1),
        SourceMessage(orjson.dumps({"events": [event(2, 99_999_999), over]}), None, "raw", 0, 2),
    ]
    result = process_messages(messages, PriceBook.load(overrides), NOW)
    assert [r.event.total_cost for r in result.priced] == [Decimal(10) ** 9, Decimal(10) ** 9 - 10]
    (letter,) = result.dead
    assert letter.error_type == "cost_limit" and "1000000000 USD per event" in letter.error
    assert letter.error.startswith("events[1]") and letter.event_id == "cost-3"


def test_a_message_at_the_size_limit_is_read_and_one_byte_more_is_not() -> None:
    body = orjson.dumps(event(5, 10))
    at_limit = body + b" " * (limits.MAX_MESSAGE_BYTES - len(body))
    decoded, dead = decode_message(SourceMessage(at_limit, None, "raw", 0, 1), NOW)
    assert len(decoded) == 1 and dead == []
    decoded, dead = decode_message(SourceMessage(at_limit + b" ", None, "raw", 0, 2), NOW)
    assert decoded == [] and dead[0].error_type == "too_large"
    assert f"the limit is {limits.MAX_MESSAGE_BYTES} bytes" in dead[0].error


def test_the_readme_states_every_limit_as_enforced() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    table = readme[readme.index("| limit |"):]
    for name in ("MAX_MESSAGE_BYTES", "MAX_EVENTS_PER_BATCH", "MAX_ID_CHARS", "MAX_LABEL_CHARS",
                 "MAX_TAGS_PER_EVENT", "MAX_TOKENS_PER_EVENT", "MAX_EVENT_COST_USD", "EARLIEST_OCCURRED_AT",
                 "LATEST_OCCURRED_AT"):  # fmt: skip
        value = getattr(limits, name)
        row = next((line for line in table.splitlines() if f"`{name}`" in line), None)
        assert row is not None, f"the README's limits table has no row for {name}"
        text = value.isoformat().replace("+00:00", "Z") if isinstance(value, datetime) else f"{value:,}"
        assert re.sub(r"[,_ ]", "", text) in re.sub(r"[,_ ]", "", row), f"{name} is {text} in the code"


def test_occurred_at_is_taken_at_its_limits_and_refused_past_them() -> None:
    from datetime import timedelta

    def at(moment: datetime) -> tuple[int, list[str]]:
        body = {**event(6, 10), "occurred_at": moment.isoformat()}
        decoded, dead = decode_message(SourceMessage(orjson.dumps(body), None, "raw", 0, 1), NOW)
        return len(decoded), [letter.error for letter in dead]

    tick = timedelta(microseconds=1)
    assert at(limits.EARLIEST_OCCURRED_AT) == (1, []) and at(limits.LATEST_OCCURRED_AT) == (1, [])
    assert "2000-01-01T00:00:00Z" in at(limits.EARLIEST_OCCURRED_AT - tick)[1][0]
    assert "2099-12-31T23:59:59.999999Z" in at(limits.LATEST_OCCURRED_AT + tick)[1][0]
