from datetime import UTC, datetime
from decimal import Decimal

import msgspec
import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from stream.ingest.decode import MAX_MESSAGE_BYTES, SourceMessage, decode_message

NOW = datetime(2026, 11, 22, tzinfo=UTC)


def message(value: bytes) -> SourceMessage:
    return SourceMessage(value=value, key=b"t1", topic="raw", partition=3, offset=42)


def event(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "event_id": "e1",
        "tenant_id": "t1",
        "occurred_at": "2026-11-20T10:00:00Z",
        "provider": "openai",
        "model": "gpt-4o",
        "response": {"usage": {"prompt_tokens": 10, "completion_tokens": 5}},
    }
    return {**base, **overrides}


def test_a_single_event_decodes() -> None:
    decoded, dead = decode_message(message(orjson.dumps(event())), NOW)
    assert dead == []
    assert [d.event.event_id for d in decoded] == ["e1"]
    assert decoded[0].batch_index is None
    assert decoded[0].source.offset == 42


def test_not_json_is_dead_lettered_with_the_original_bytes_and_position() -> None:
    decoded, dead = decode_message(message(b"{oops"), NOW)
    assert decoded == []
    [letter] = dead
    assert letter.error_type == "not_json"
    assert letter.original_b64 == "e29vcHM="
    assert (letter.topic, letter.partition, letter.offset) == ("raw", 3, 42)


def test_one_bad_event_in_a_batch_dead_letters_alone() -> None:
    batch = {"events": [event(event_id="a"), event(event_id="b", occurred_at="yesterday"), event(event_id="c")]}
    decoded, dead = decode_message(message(orjson.dumps(batch)), NOW)
    assert [d.event.event_id for d in decoded] == ["a", "c"]
    assert [d.batch_index for d in decoded] == [0, 2]
    [letter] = dead
    assert letter.batch_index == 1
    assert letter.event_id == "b"
    assert letter.error.startswith("events[1].occurred_at")


def test_schema_violations_name_the_field() -> None:
    cases = {
        "occurred_at": event(occurred_at="2026-11-20T10:00:00"),  # no timezone
        "tenant_id": event(tenant_id=""),
        "provider_cost_usd": event(provider_cost_usd=-1),
        "usage.input_tokens": event(usage={"input_tokens": 1.5}),
        "surprise": event(surprise=True),
    }
    for field, payload in cases.items():
        _, dead = decode_message(message(orjson.dumps(payload)), NOW)
        assert len(dead) == 1, field
        assert field in dead[0].error, (field, dead[0].error)
        assert dead[0].error_type == "invalid_event"


def test_envelope_errors() -> None:
    for payload in (b"[1, 2]", b'"text"', b'{"events": []}', b'{"events": "x"}'):
        decoded, dead = decode_message(message(payload), NOW)
        assert decoded == []
        assert [d.error_type for d in dead] == ["invalid_envelope"], payload


def test_oversized_messages_are_refused_before_parsing() -> None:
    _, dead = decode_message(message(b" " * (MAX_MESSAGE_BYTES + 1)), NOW)
    assert dead[0].error_type == "too_large"


def test_deeply_nested_json_is_a_dead_letter_not_a_crash() -> None:
    _, dead = decode_message(message(b"[" * 5000 + b"]" * 5000), NOW)
    assert len(dead) == 1


def test_a_dead_letter_of_a_huge_payload_fits_a_kafka_message_and_says_it_was_cut() -> None:
    import base64
    from datetime import UTC, datetime

    from schemas import DeadLetter
    from stream.ingest.agent import MAX_DEAD_LETTER_BYTES, dead_letter_payload

    original = b"x" * 2_000_000
    letter = DeadLetter(
        original_b64=base64.b64encode(original).decode(), original_key_b64=None, topic="raw", partition=0, offset=7,
        batch_index=None, event_id=None, tenant_id=None, error_type="invalid_event", error="model: too long",
        dead_lettered_at=datetime.now(UTC),
    )
    sent = DeadLetter.model_validate_json(dead_letter_payload(letter))
    assert len(dead_letter_payload(letter)) <= MAX_DEAD_LETTER_BYTES
    assert sent.original_truncated and sent.original_size == len(original)
    assert original.startswith(base64.b64decode(sent.original_b64)) and sent.error == "model: too long"
    small = letter.model_copy(update={"original_b64": base64.b64encode(b"{}").decode()})
    assert DeadLetter.model_validate_json(dead_letter_payload(small)) == small


def test_a_json_number_for_money_keeps_every_digit() -> None:
    digits = b"12.123456789012345678"  # 20 significant digits: a float keeps about 17
    single = event(provider_cost_usd=0.5)
    raw = orjson.dumps(single).replace(b"0.5", digits)
    batch = b'{"events": [' + raw + b", " + raw.replace(b'"e1"', b'"e2"') + b"]}"
    for value in (raw, batch):
        decoded, dead = decode_message(message(value), NOW)
        assert dead == [] and decoded
        assert all(d.event.provider_cost_usd == Decimal(digits.decode()) for d in decoded)


def test_money_in_the_response_keeps_every_digit() -> None:
    from stream.ingest.pipeline import process_messages
    from stream.pricing import PriceBook

    response = {"model": "openai/gpt-4o", "usage": {"prompt_tokens": 10, "completion_tokens": 5, "cost": 0.5}}
    raw = orjson.dumps(event(provider="openrouter", api_flavor="chat", response=response))
    exact = orjson.loads(raw.replace(b'"cost":0.5', b'"cost":12.345678901234567890'))
    [record] = process_messages([message(raw.replace(b'"cost":0.5', b'"cost":12.345678901234567890'))],
                                PriceBook.load(), NOW).priced
    assert record.event.provider_cost_usd == Decimal("12.345678901234567890")
    assert record.event.provider_cost_usd != Decimal(repr(exact["response"]["usage"]["cost"]))  # what a float keeps
    too_fine = process_messages([message(raw.replace(b'"cost":0.5', b'"cost":0.0000000000000000001'))],
                                PriceBook.load(), NOW)
    assert too_fine.priced == [] and "response.usage.cost" in too_fine.dead[0].error


def test_a_bad_event_among_precise_ones_leaves_their_money_exact() -> None:
    raw = orjson.dumps({"events": [event(provider_cost_usd=0.5), event(event_id="b", tenant_id="")]})
    raw = raw.replace(b"0.5", b"1.000000000000000001")
    decoded, dead = decode_message(message(raw), NOW)
    assert [d.event.provider_cost_usd for d in decoded] == [Decimal("1.000000000000000001")]
    assert dead[0].error.startswith("events[1].tenant_id")


def test_the_fast_decoders_agree_with_the_models() -> None:
    """Whatever the Structs accept, the models accept with the same values; what they
    refuse is decided by the models (with their messages)."""
    from schemas import RawUsageEvent

    cases: list[dict[str, object]] = [
        event(),
        event(event_id="  padded  "),  # the model strips it
        event(event_id="x" * 257), event(event_id=" " + "x" * 256), event(model=""), event(model=None),
        event(occurred_at="2026-11-20T10:00:00"), event(occurred_at="2026-11-20 10:00:00z"),
        event(occurred_at="2026-11-20T10:00:00.1234567+02:00"), event(occurred_at=1_700_000_000),
        event(occurred_at="2026-11-20T10:00Z"),
        event(provider_cost_usd="0.1"), event(provider_cost_usd="1e-19"), event(provider_cost_usd="NaN"),
        event(provider_cost_usd="-0"), event(provider_cost_usd=-1), event(provider_cost_usd=10**20),
        event(provider_cost_usd=True), event(provider_cost_usd=" 1.5 "),
        event(usage={"input_tokens": 5, "cache_read_tokens": 6}), event(usage={"input_tokens": 10**8 + 1}),
        event(usage={"input_tokens": 1.0}), event(usage={"input_tokens": True}), event(usage={"input_tokens": "5"}),
        event(usage={"input_tokens": 5, "output_tokens": 3, "reasoning_tokens": 2}, response=None),
        event(attributes={"latency_ms": -1}), event(attributes={"latency_ms": 2**70}),
        event(attributes={"latency_ms": 5.0}), event(attributes={"tags": {str(n): "v" for n in range(65)}}),
        event(attributes={"tags": {"k": "v" * 513}}), event(attributes={"feature": "f", "extra": 1}),
        event(response=[{"usage": {}}]), event(response="text"), event(api_flavor=" "),
    ]
    for case in cases:
        raw = msgspec.json.encode(case)  # orjson refuses integers beyond 64 bits
        decoded, dead = decode_message(message(raw), NOW)
        try:
            model = RawUsageEvent.model_validate(case)
        except ValueError:
            assert decoded == [] and len(dead) == 1, case
            continue
        assert dead == [], (case, dead)
        [got] = decoded
        assert (got.event.event_id, got.event.tenant_id, got.event.occurred_at, got.event.provider,
                got.event.api_flavor, got.event.model, got.event.response, got.event.provider_cost_usd) == (
            model.event_id, model.tenant_id, model.occurred_at, model.provider, model.api_flavor, model.model,
            model.response, model.provider_cost_usd), case
        usage = got.event.usage
        assert (None if usage is None else msgspec.structs.asdict(usage)) == (
            None if model.usage is None else model.usage.model_dump()), case
        assert msgspec.structs.asdict(got.event.attributes) == model.attributes.model_dump(), case


FIELD_VALUES = st.one_of(
    st.none(), st.booleans(), st.integers(-3, 3), st.integers(10**7, 10**9), st.floats(allow_nan=False),
    st.sampled_from(["", " ", " x", "x ", "x", "\u00a0x", "x\u2003", "2026-11-20T10:00:00Z", "2026-11-20T10:00:00",
                     "2026-11-20 10:00:00+05:30", "2026-11-20T10:00:00.1234567Z", "0.1", "1e-19", "-0", "NaN",
                     "1E+3", "openai", "default"]),
    st.text(max_size=6), st.dictionaries(st.sampled_from(["input_tokens", "output_tokens", "cache_read_tokens",
                                                          "reasoning_tokens", "feature", "latency_ms", "tags", "x"]),
                                         st.integers(-1, 20) | st.text(max_size=3) | st.none(), max_size=4),
)
FIELDS = ["event_id", "tenant_id", "occurred_at", "provider", "api_flavor", "model", "response", "usage",
          "provider_cost_usd", "attributes", "surprise"]


@settings(max_examples=400, deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), FIELD_VALUES, max_size=5))
def test_the_fast_decoders_are_never_looser_than_the_models(overrides: dict[str, object]) -> None:
    from schemas import RawUsageEvent

    case = {**event(), **overrides}
    decoded, dead = decode_message(message(msgspec.json.encode(case)), NOW)
    try:
        model = RawUsageEvent.model_validate(msgspec.json.Decoder(float_hook=Decimal).decode(msgspec.json.encode(case)))
    except ValueError:
        assert decoded == [] and len(dead) == 1
        return
    assert dead == []
    [got] = decoded
    assert (got.event.event_id, got.event.tenant_id, got.event.occurred_at, got.event.provider, got.event.api_flavor,
            got.event.model, got.event.response, got.event.provider_cost_usd) == (
        model.event_id, model.tenant_id, model.occurred_at, model.provider, model.api_flavor, model.model,
        model.response, model.provider_cost_usd)


def test_an_envelope_of_bad_events_is_carried_once_by_its_dead_letters() -> None:
    import base64

    from stream.ingest.pipeline import process_messages
    from stream.pricing import PriceBook

    bad = [{"event_id": f"b{n}", "tenant_id": "t", "occurred_at": "2026-11-20T10:00:00Z", "provider": "openai",
            "usage": {"input_tokens": -n - 1}} for n in range(1000)]  # fmt: skip
    unusable = [{"event_id": f"u{n}", "tenant_id": "t", "occurred_at": "2026-11-20T10:00:00Z", "provider": "openai",
                 "model": "gpt-4o-mini", "response": {"id": "no usage here"}} for n in range(1000)]  # fmt: skip
    envelope = orjson.dumps({"events": [*bad, *unusable]})
    result = process_messages([message(envelope)], PriceBook.load(), NOW)
    assert result.priced == [] and len(result.dead) == 2000
    originals = [base64.b64decode(letter.original_b64) for letter in result.dead]
    # each letter carries its own event, not the envelope: together, the envelope's bytes once
    assert sum(len(original) for original in originals) < len(envelope)
    by_id = {letter.event_id: orjson.loads(original) for letter, original in zip(result.dead, originals, strict=True)}
    assert by_id["b7"] == bad[7] and by_id["u999"] == unusable[999]
    assert {letter.error_type for letter in result.dead} == {"invalid_event", "invalid_usage"}


def test_nesting_too_deep_for_the_decoder_is_a_dead_letter_in_every_position() -> None:
    nested = b"[" * 5000 + b"1" + b"]" * 5000
    for value in (nested, b'{"events": ' + nested + b"}", b'{"events": [' + nested + b"]}"):
        decoded, dead = decode_message(message(value), NOW)
        assert decoded == [] and len(dead) == 1
        assert dead[0].error_type == "not_json" and "nested too deeply" in dead[0].error
