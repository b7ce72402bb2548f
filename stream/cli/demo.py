"""``costream demo``: publish realistic demo events to the raw topic, at a steady rate.

Events come from the same generator as ``costream up --demo`` (several tenants,
providers, models and features, each carrying the provider's own response shape, a few
of them for a model with no price). Every message is keyed by its tenant_id; with
``--envelope N`` each message is a batch envelope ``{"events": [...]}`` of N events of
one tenant. A small share of messages (``--broken``) is sent malformed instead, in
place of the events it would have carried, so the dead-letter topic has something to show.

The rate is held over time, not per burst: after t seconds, floor(rate x t) events are
due, and a message leaves as soon as a whole envelope of them is due. With
``--duration`` the run ends after exactly floor(rate x duration) events, the last
envelope possibly short; without it, it runs until interrupted (Ctrl-C, SIGTERM), and
the events already due are sent before it stops.
"""

import argparse
import asyncio
import contextlib
import math
import random
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError, KafkaError
from rich.console import Console

from stream.broker.client import aiokafka_options
from stream.cli.errors import CliError
from stream.config import Settings, parse_duration
from stream.demo.events import broken_event, demo_events
from stream.reason import first_line

DEFAULT_RATE = 100
DEFAULT_ENVELOPE = 1
DEFAULT_BROKEN = 0.005
MAX_ENVELOPE = 10_000
REPORT_EVERY = 10.0
"""Seconds between progress lines while publishing."""
_LONGEST_SLEEP = 0.5
"""Longest wait between two checks of the clock, so a stop request is seen promptly."""
_EPSILON = 1e-9


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _envelope(text: str) -> int:
    value = _positive_int(text)
    if value > MAX_ENVELOPE:
        raise argparse.ArgumentTypeError(f"at most {MAX_ENVELOPE} events per message")
    return value


def _duration(text: str) -> float:
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError("must be between 0 and 1")
    return value


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo", help="publish demo events to the raw topic at a steady rate", description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--rate", type=_positive_int, default=DEFAULT_RATE, metavar="N",
        help=f"events per second (default {DEFAULT_RATE})",
    )
    parser.add_argument(
        "--duration", type=_duration, default=None, metavar="SECONDS",
        help="stop after this long: 90, 90s, 5m, 1h (default: run until interrupted)",
    )
    parser.add_argument(
        "--envelope", type=_envelope, default=DEFAULT_ENVELOPE, metavar="N",
        help="events per Kafka message; above 1, batch envelopes of one tenant's events (default 1)",
    )
    parser.add_argument(
        "--broken", type=_fraction, default=DEFAULT_BROKEN, metavar="FRACTION",
        help=f"share of messages sent malformed, for the dead-letter topic (default {DEFAULT_BROKEN}; 0 for none)",
    )
    parser.add_argument("--topic", help="topic to publish to (default: the raw topic)")
    parser.add_argument("--seed", type=int, default=None, help="random seed, for a repeatable sequence of events")
    parser.set_defaults(handler=run)


# --- the arithmetic of the rate (pure) ------------------------------------------------------


def events_due(rate: int, elapsed: float) -> int:
    """Events that should have been published ``elapsed`` seconds after the start."""
    if elapsed <= 0:
        return 0
    return math.floor(rate * elapsed + _EPSILON)


def planned_events(rate: int, duration: float) -> int:
    """Events a run of ``duration`` seconds publishes."""
    return events_due(rate, duration)


def planned_messages(rate: int, duration: float, envelope: int) -> int:
    """Messages a run of ``duration`` seconds publishes: whole envelopes, the last possibly short."""
    return math.ceil(planned_events(rate, duration) / envelope)


def message_sizes(due: int, envelope: int, *, final: bool) -> list[int]:
    """Events per message for ``due`` events not yet sent: whole envelopes only, unless this
    is the last send of the run, which also takes the remainder."""
    if due <= 0:
        return []
    sizes = [envelope] * (due // envelope)
    if final and due % envelope:
        sizes.append(due % envelope)
    return sizes


def seconds_until_next_message(rate: int, envelope: int, sent: int, elapsed: float) -> float:
    """How long until the next whole envelope is due (0 when it already is)."""
    return max(0.0, (sent + envelope) / rate - elapsed)


# --- building and sending messages ----------------------------------------------------------


@dataclass
class DemoMessages:
    """Kafka messages (key, value) of demo events."""

    rng: random.Random
    broken: float = DEFAULT_BROKEN
    _events: Iterator[dict[str, Any]] = field(init=False)

    def __post_init__(self) -> None:
        self._events = demo_events(self.rng)

    def message(self, size: int) -> tuple[bytes, bytes, bool]:
        """(key, value, malformed) for a message of ``size`` events."""
        events = [next(self._events) for _ in range(size)]
        tenant: str = events[0]["tenant_id"]
        if self.broken and self.rng.random() < self.broken:
            return tenant.encode(), broken_event(self.rng), True
        if size == 1:
            return tenant.encode(), orjson.dumps(events[0]), False
        for event in events:  # one key per message: an envelope carries one tenant's events
            event["tenant_id"] = tenant
        return tenant.encode(), orjson.dumps({"events": events}), False


@dataclass
class Tally:
    events: int = 0
    messages: int = 0
    malformed: int = 0


def _kafka_failure(settings: Settings, exc: Exception) -> CliError:
    detail = first_line(exc)
    return CliError(
        f"Kafka at {settings.bootstrap_servers} refused the demo events: {detail}",
        "check COSTREAM_KAFKA_BOOTSTRAP_SERVERS and the COSTREAM_KAFKA_SECURITY_PROTOCOL/SASL/SSL settings, "
        "and that the topic exists (a worker creates it at start)",
    )


async def publish_demo(
    settings: Settings,
    topic: str,
    *,
    rate: int,
    duration: float | None,
    envelope: int,
    broken: float = DEFAULT_BROKEN,
    seed: int | None = None,
    console: Console | None = None,
) -> Tally:
    try:
        options = aiokafka_options(settings)
    except OSError as exc:  # ssl.SSLError is one: a TLS file missing or unreadable
        raise CliError(
            f"cannot load the Kafka TLS files: {exc}",
            "check COSTREAM_KAFKA_SSL_CAFILE, COSTREAM_KAFKA_SSL_CERTFILE and COSTREAM_KAFKA_SSL_KEYFILE",
        ) from None
    producer = AIOKafkaProducer(**options, acks="all", linger_ms=20, max_request_size=16 * 1024 * 1024)
    try:
        await producer.start()
    except KafkaError as exc:
        with contextlib.suppress(Exception):
            await producer.stop()
        if not isinstance(exc, KafkaConnectionError):
            raise _kafka_failure(settings, exc) from None
        raise CliError(
            f"cannot reach Kafka at {settings.bootstrap_servers}",
            "start the stack (docker compose up, or costream up), or set COSTREAM_KAFKA_BOOTSTRAP_SERVERS",
        ) from None
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    handled: list[signal.Signals] = []
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):  # not the main thread / no unix
            loop.add_signal_handler(signum, stop.set)
            handled.append(signum)
    messages = DemoMessages(random.Random(seed), broken)
    tally = Tally()
    start = last_report = time.monotonic()
    try:
        while True:
            elapsed = time.monotonic() - start
            final = stop.is_set() or (duration is not None and elapsed >= duration)
            if duration is not None:
                elapsed = min(elapsed, duration)
            pending = []
            for size in message_sizes(events_due(rate, elapsed) - tally.events, envelope, final=final):
                key, value, malformed = messages.message(size)
                pending.append(await producer.send(topic, value=value, key=key))
                tally.events += size
                tally.messages += 1
                tally.malformed += malformed
            if pending:
                await asyncio.gather(*pending)
            if final:
                return tally
            now = time.monotonic()
            if console is not None and now - last_report >= REPORT_EVERY:
                last_report = now
                console.print(f"published {tally.events} events in {tally.messages} messages "
                              f"({tally.events / (now - start):.0f}/s)", highlight=False, soft_wrap=True)  # fmt: skip
            wait = seconds_until_next_message(rate, envelope, tally.events, now - start)
            if duration is not None:
                wait = min(wait, max(0.0, duration - (now - start)))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=min(wait, _LONGEST_SLEEP))
    except KafkaError as exc:
        raise _kafka_failure(settings, exc) from None
    finally:
        for signum in handled:
            loop.remove_signal_handler(signum)
        with contextlib.suppress(KafkaError):
            await producer.stop()


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    topic: str = args.topic or settings.topic_raw
    how_long = f"for {args.duration:g}s" if args.duration is not None else "until interrupted"
    shape = f"batch envelopes of {args.envelope} events" if args.envelope > 1 else "one event per message"
    console.print(f"publishing {args.rate} demo events/s to {topic} on {settings.bootstrap_servers} "
                  f"({shape}) {how_long}", highlight=False, soft_wrap=True)  # fmt: skip
    started = time.monotonic()
    tally = asyncio.run(publish_demo(
        settings, topic, rate=args.rate, duration=args.duration, envelope=args.envelope, broken=args.broken,
        seed=args.seed, console=console,
    ))  # fmt: skip
    seconds = time.monotonic() - started
    console.print(f"published {tally.events} events in {tally.messages} messages to {topic} in {seconds:.1f}s"
                  + (f" ({tally.malformed} malformed, for the dead-letter topic)" if tally.malformed else ""),
                  highlight=False, soft_wrap=True)  # fmt: skip
    return 0
