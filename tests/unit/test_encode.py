"""The priced-topic and dead-letter encoders write what the models write, decimals plain."""

import json
import random
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import msgspec
import orjson

from schemas import DeadLetter, PricedUsageEvent
from stream.demo.events import demo_events
from stream.ingest.decode import SourceMessage
from stream.ingest.encode import encode_dead_letter, encode_priced_event
from stream.ingest.pipeline import process_messages
from stream.pricing import PriceBook

SCHEMAS = Path(__file__).parents[2] / "schemas" / "json"
MONEY = ("provider_cost_usd", "total_cost", "cost_drift_usd", "cache_savings_usd")


def decimals_as_values(document: dict[str, Any]) -> dict[str, Any]:
    out = dict(document)
    for key in MONEY:
        if out[key] is not None:
            out[key] = Decimal(out[key])
    if out["token_cost"] is not None:
        out["token_cost"] = {key: Decimal(value) for key, value in out["token_cost"].items()}
    return out


def as_model(event: PricedUsageEvent) -> PricedUsageEvent:
    """The pipeline's trusted Struct, validated as the model (every constraint holds)."""
    return PricedUsageEvent.model_validate(event, from_attributes=True)


def priced_events() -> list[PricedUsageEvent]:
    stream = demo_events(random.Random(11))
    messages = [SourceMessage(orjson.dumps(next(stream)), None, "raw", 0, n) for n in range(300)]
    messages.append(SourceMessage(orjson.dumps({"events": [next(stream) for _ in range(50)]}), None, "raw", 0, 300))
    events = [record.event for record in process_messages(messages, PriceBook.load(), datetime.now(UTC)).priced]
    assert len(events) > 300
    return events


def test_priced_events_encode_as_the_model_does_with_plain_decimals() -> None:
    schema = json.loads((SCHEMAS / "PricedUsageEvent.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    for event in priced_events():
        ours = encode_priced_event(event)
        document = orjson.loads(ours)
        model = as_model(event)
        assert encode_priced_event(model) == ours
        theirs = orjson.loads(model.model_dump_json())
        assert list(document) == list(PricedUsageEvent.model_fields) == list(theirs)
        assert decimals_as_values(document) == decimals_as_values(theirs)
        assert "E" not in ours.decode().replace("openai", "")  # no exponent anywhere (ids are lower-case)
        validator.validate(document)
        assert PricedUsageEvent.model_validate_json(ours) == model


def test_tiny_and_zero_scaled_amounts_are_written_without_an_exponent() -> None:
    event = as_model(priced_events()[0])
    tiny = event.model_copy(update={"total_cost": Decimal("8.40E-7"), "cache_savings_usd": Decimal("0E-18"),
                                    "cost_drift_usd": Decimal("-1E+2")})
    document = orjson.loads(encode_priced_event(tiny))
    assert (document["total_cost"], document["cache_savings_usd"], document["cost_drift_usd"]) == (
        "0.000000840", "0.000000000000000000", "-100")


def test_datetimes_are_written_as_pydantic_writes_them() -> None:
    event = as_model(priced_events()[0])
    for moment in (datetime(2026, 1, 1, tzinfo=UTC),
                   datetime(2026, 1, 1, 0, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))),
                   datetime(2026, 1, 1, tzinfo=timezone(timedelta(hours=-5, minutes=-30)))):
        moved = event.model_copy(update={"occurred_at": moment, "ingested_at": moment})
        assert orjson.loads(encode_priced_event(moved)) == orjson.loads(moved.model_dump_json())


def test_dead_letters_encode_as_the_model_does() -> None:
    letter = DeadLetter(original_b64="e30=", original_key_b64=None, topic="raw", partition=1, offset=2, batch_index=3,
                        event_id="e\u00e9\"x", tenant_id=None, error_type="invalid_event", error="a: b",
                        dead_lettered_at=datetime(2026, 1, 1, 0, 0, 0, 1, tzinfo=UTC))
    assert encode_dead_letter(letter) == letter.model_dump_json().encode()
    schema = json.loads((SCHEMAS / "DeadLetter.schema.json").read_text())
    jsonschema.validate(orjson.loads(encode_dead_letter(letter)), schema)


def test_the_pipelines_structs_write_tiny_amounts_plainly_too() -> None:
    event = priced_events()[0]
    assert event.token_cost is not None
    tiny = msgspec.structs.replace(  # type: ignore[type-var]
        event, total_cost=Decimal("8.40E-7"), cache_savings_usd=Decimal("0E-18"),
        token_cost=msgspec.structs.replace(event.token_cost, other=Decimal("1E+1")),  # type: ignore[type-var]
    )
    document = orjson.loads(encode_priced_event(tiny))
    assert (document["total_cost"], document["cache_savings_usd"], document["token_cost"]["other"]) == (
        "0.000000840", "0.000000000000000000", "10")
    shouting = msgspec.structs.replace(event, event_id="EVENT-E1")  # type: ignore[type-var]
    assert orjson.loads(encode_priced_event(shouting)) == orjson.loads(as_model(shouting).model_dump_json())
