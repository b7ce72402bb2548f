"""``costream demo``: its options and the arithmetic that holds the rate (no broker)."""

import argparse
import random

import orjson
import pytest

from stream.cli import demo


def parse(*argv: str) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="costream")
    demo.register(parser.add_subparsers())
    return parser.parse_args(["demo", *argv])


def test_defaults() -> None:
    args = parse()
    assert (args.rate, args.duration, args.envelope, args.topic, args.seed) == (100, None, 1, None, None)
    assert args.broken == demo.DEFAULT_BROKEN
    assert args.handler is demo.run


def test_options() -> None:
    args = parse("--rate", "200", "--duration", "5m", "--envelope", "50", "--broken", "0", "--topic", "t",
                 "--seed", "7")  # fmt: skip
    assert (args.rate, args.duration, args.envelope) == (200, 300.0, 50)
    assert (args.broken, args.topic, args.seed) == (0.0, "t", 7)
    assert parse("--duration", "90").duration == 90.0
    assert parse("--duration", "1.5s").duration == 1.5


@pytest.mark.parametrize(
    "argv",
    [
        ("--rate", "0"), ("--rate", "-5"), ("--rate", "fast"), ("--rate", "1.5"),
        ("--envelope", "0"), ("--envelope", str(demo.MAX_ENVELOPE + 1)),
        ("--duration", "0"), ("--duration", "soon"), ("--broken", "2"), ("--broken", "-0.1"),
    ],
)
def test_invalid_options_are_refused_with_a_usage_error(
    argv: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        parse(*argv)
    assert exited.value.code == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]
    assert error.startswith("costream demo: error: argument ") and "Traceback" not in error


def test_events_due_follow_the_rate() -> None:
    assert demo.events_due(200, 0) == 0
    assert demo.events_due(200, -1) == 0
    assert demo.events_due(200, 0.004) == 0
    assert demo.events_due(200, 0.005) == 1
    assert demo.events_due(200, 2) == 400
    assert demo.events_due(3, 0.1 * 3) == 0  # 0.9000000000000001 events
    assert demo.events_due(10, 0.1 * 3) == 3  # 0.30000000000000004 s: no float shortfall either way
    assert demo.events_due(7, 1 / 7 * 7) == 7


@pytest.mark.parametrize(
    ("rate", "duration", "envelope", "events", "messages"),
    [
        (200, 2, 1, 400, 400),
        (200, 2, 10, 400, 40),
        (300, 1.5, 7, 450, 65),  # 64 envelopes of 7, then one of 2
        (5, 1, 100, 5, 1),  # one short envelope at the end
        (1, 0.5, 1, 0, 0),
    ],
)
def test_planned_totals(rate: int, duration: float, envelope: int, events: int, messages: int) -> None:
    assert demo.planned_events(rate, duration) == events
    assert demo.planned_messages(rate, duration, envelope) == messages


def test_message_sizes_send_whole_envelopes_until_the_last_send() -> None:
    assert demo.message_sizes(0, 5, final=True) == []
    assert demo.message_sizes(-3, 5, final=True) == []
    assert demo.message_sizes(4, 5, final=False) == []
    assert demo.message_sizes(4, 5, final=True) == [4]
    assert demo.message_sizes(10, 3, final=False) == [3, 3, 3]
    assert demo.message_sizes(10, 3, final=True) == [3, 3, 3, 1]
    assert demo.message_sizes(7, 1, final=False) == [1] * 7


def test_seconds_until_next_message() -> None:
    assert demo.seconds_until_next_message(100, 1, sent=0, elapsed=0) == pytest.approx(0.01)
    assert demo.seconds_until_next_message(100, 10, sent=50, elapsed=0.5) == pytest.approx(0.1)
    assert demo.seconds_until_next_message(100, 10, sent=50, elapsed=0.7) == 0.0  # already late


@pytest.mark.parametrize(
    ("rate", "duration", "envelope"), [(200, 2.0, 1), (300, 1.5, 7), (1000, 3.0, 64), (3, 10.0, 5)]
)
def test_a_run_publishes_exactly_the_planned_events_whatever_the_ticks(
    rate: int, duration: float, envelope: int
) -> None:
    """The publishing loop's arithmetic over irregular wake-ups: every message but the last
    is a whole envelope, no events are due before their time, and the total is exact."""
    rng = random.Random(rate)
    sent, sizes, elapsed = 0, [], 0.0
    while True:
        final = elapsed >= duration
        elapsed = min(elapsed, duration)
        batch = demo.message_sizes(demo.events_due(rate, elapsed) - sent, envelope, final=final)
        sizes.extend(batch)
        sent += sum(batch)
        assert sent <= demo.events_due(rate, elapsed)
        if final:
            break
        elapsed += rng.uniform(0, 2) * min(demo.seconds_until_next_message(rate, envelope, sent, elapsed), 0.5)
        elapsed += rng.uniform(0, 0.01)
    assert sent == demo.planned_events(rate, duration)
    assert len(sizes) == demo.planned_messages(rate, duration, envelope)
    assert all(size == envelope for size in sizes[:-1]) and 0 < sizes[-1] <= envelope


def test_messages_are_keyed_by_tenant_and_an_envelope_carries_one_tenant() -> None:
    messages = demo.DemoMessages(random.Random(1), broken=0)
    for _ in range(50):
        key, value, malformed = messages.message(1)
        event = orjson.loads(value)
        assert not malformed and "events" not in event and event["tenant_id"].encode() == key
        key, value, malformed = messages.message(25)
        envelope = orjson.loads(value)
        assert not malformed and len(envelope["events"]) == 25
        assert {event["tenant_id"].encode() for event in envelope["events"]} == {key}
        assert len({event["event_id"] for event in envelope["events"]}) == 25


def test_broken_share() -> None:
    always = demo.DemoMessages(random.Random(2), broken=1)
    assert all(always.message(3)[2] for _ in range(20))
    never = demo.DemoMessages(random.Random(2), broken=0)
    assert not any(never.message(3)[2] for _ in range(200))
    some = demo.DemoMessages(random.Random(3), broken=0.1)
    malformed = sum(some.message(1)[2] for _ in range(2000))
    assert 120 < malformed < 280
