from datetime import UTC, datetime

import orjson

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
