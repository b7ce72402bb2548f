"""``costream publish FILE``: JSON Lines of events (or batch envelopes) to the raw topic.

Each non-empty line becomes one Kafka message, byte for byte, keyed by its tenant_id (a
batch envelope is keyed by its first event's tenant). Lines that are not valid JSON are
still published, so that the worker dead-letters them with a reason and nothing is
silently dropped; the summary says how many there were.
"""

import argparse
import asyncio
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

import orjson
from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from stream.broker.client import aiokafka_options
from stream.cli.errors import CliError
from stream.config import Settings


def register(commands: Any) -> None:
    parser = commands.add_parser("publish", help="publish JSON Lines events to the raw topic", description=__doc__)
    parser.add_argument("file", help="a .jsonl file, or - for standard input")
    parser.add_argument("--topic", help="topic to publish to (default: the raw topic)")
    parser.set_defaults(handler=run)


def message_key(line: bytes) -> tuple[bytes | None, bool]:
    """(key, is_json) for one line."""
    try:
        document = orjson.loads(line)
    except orjson.JSONDecodeError:
        return None, False
    if isinstance(document, dict):
        tenant = document.get("tenant_id")
        events = document.get("events")
        if tenant is None and isinstance(events, list) and events and isinstance(events[0], dict):
            tenant = events[0].get("tenant_id")
        if isinstance(tenant, str) and tenant:
            return tenant.encode(), True
    return None, True


def _lines(stream: BinaryIO) -> Iterator[bytes]:
    for raw in stream:
        line = raw.strip()
        if line:
            yield line


async def publish_lines(settings: Settings, topic: str, lines: list[bytes], progress: Progress | None = None) -> int:
    producer = AIOKafkaProducer(
        **aiokafka_options(settings), acks="all", linger_ms=5, max_request_size=16 * 1024 * 1024
    )
    try:
        await producer.start()
    except KafkaConnectionError:
        raise CliError(
            f"cannot reach Kafka at {settings.bootstrap_servers}",
            "start the stack with `costream up` (or `make run`), or set COSTREAM_KAFKA_BOOTSTRAP_SERVERS",
        ) from None
    task = progress.add_task("publishing", total=len(lines)) if progress else None
    not_json = 0
    try:
        pending = []
        for line in lines:
            key, is_json = message_key(line)
            not_json += not is_json
            pending.append(await producer.send(topic, value=line, key=key))
            if len(pending) >= 1000:
                await asyncio.gather(*pending)
                if progress and task is not None:
                    progress.advance(task, len(pending))
                pending.clear()
        await asyncio.gather(*pending)
        if progress and task is not None:
            progress.advance(task, len(pending))
    finally:
        await producer.stop()
    return not_json


def run(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    if args.file == "-":
        lines = list(_lines(sys.stdin.buffer))
    else:
        path = Path(args.file)
        if not path.is_file():
            raise CliError(f"no such file: {path}", "pass a JSON Lines file, one event or batch per line")
        with path.open("rb") as stream:
            lines = list(_lines(stream))
    topic = args.topic or settings.topic_raw
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        not_json = asyncio.run(publish_lines(settings, topic, lines, progress))
    console.print(f"published {len(lines)} message(s) to {topic}")
    if not_json:
        console.print(f"[yellow]{not_json} line(s) were not valid JSON; the worker will dead-letter them[/yellow]")
    return 0
