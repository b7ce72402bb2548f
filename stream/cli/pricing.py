"""``costream price`` and ``costream prices show|check|diff``: the pricing engine on the
command line, the same code the agent runs, no Kafka or ClickHouse needed."""

import argparse
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson
from rich.console import Console

from stream.cli.errors import CliError
from stream.cli.output import print_rows
from stream.config import Settings
from stream.ingest.decode import SourceMessage, decode_message
from stream.ingest.encode import encode_priced_event
from stream.ingest.pipeline import process_messages
from stream.pricing import OverridesError, PriceBook


def register(commands: Any) -> None:
    price = commands.add_parser(
        "price", help="price JSON Lines of raw events (stdin by default), one JSON line out per event",
    )
    price.add_argument("file", nargs="?", default="-", help="JSON Lines of events or batches; - for stdin")
    price.set_defaults(handler=run_price)

    prices = commands.add_parser("prices", help="inspect the price book")
    actions = prices.add_subparsers(dest="action", metavar="ACTION", required=True)
    show = actions.add_parser("show", help="the rates in force for a model")
    show.add_argument("model")
    show.add_argument("--provider", default="generic", help="e.g. openai, anthropic, aws (default: infer)")
    show.add_argument("--tenant", help="show the tenant's negotiated price")
    show.add_argument("--at", help="RFC 3339 time (default: now)")
    show.set_defaults(handler=run_show)

    check = actions.add_parser("check", help="list the models of a JSON Lines file that would be unpriced")
    check.add_argument("file")
    check.set_defaults(handler=run_check)

    diff = actions.add_parser("diff", help="what a new overrides file changes against the one in force")
    diff.add_argument("new_file", help="the new overrides YAML")
    diff.add_argument("--old", help="the overrides in force (default: COSTREAM_PRICE_OVERRIDES_FILE)")
    diff.add_argument("--at", help="RFC 3339 time (default: now)")
    diff.set_defaults(handler=run_diff)


def _book(path: Path | None) -> PriceBook:
    try:
        return PriceBook.load(path)
    except OverridesError as exc:
        raise CliError(str(exc), "see README, section Prices, for the overrides format") from None


def _time(text: str | None) -> datetime:
    if not text:
        return datetime.now(UTC)
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise CliError(f"--at '{text}' is not an RFC 3339 time", "e.g. --at 2026-03-01T00:00:00Z") from None
    if at.tzinfo is None:
        raise CliError(f"--at '{text}' has no timezone", "add Z or an offset, e.g. 2026-03-01T00:00:00Z")
    return at


def _open(name: str) -> IO[bytes]:
    if name == "-":
        return sys.stdin.buffer
    path = Path(name)
    if not path.is_file():
        raise CliError(f"no such file: {path}", "pass a JSON Lines file, one event or batch per line")
    return path.open("rb")


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes]]:
    for number, raw in enumerate(stream, start=1):
        if line := raw.strip():
            yield number, line


def run_price(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    book = _book(settings.price_overrides_file)
    out = sys.stdout.buffer
    with _open(args.file) as stream:
        for number, line in _lines(stream):
            message = SourceMessage(line, None, args.file, 0, number)
            result = process_messages([message], book, datetime.now(UTC))
            for record in result.priced:
                out.write(encode_priced_event(record.event) + b"\n")
            for letter in result.dead:
                error = {"type": letter.error_type, "message": letter.error, "line": number}
                if letter.batch_index is not None:
                    error["batch_index"] = letter.batch_index
                out.write(orjson.dumps({"event_id": letter.event_id, "error": error}) + b"\n")
    out.flush()
    return 0


def run_show(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    book = _book(settings.price_overrides_file)
    at = _time(args.at)
    price = book.resolve(args.provider, args.model, at, args.tenant)
    if price is None:
        raise CliError(
            f"no price for model '{args.model}' (provider {args.provider}) at {at.isoformat()}",
            "check the id and provider, or add it to the overrides file (COSTREAM_PRICE_OVERRIDES_FILE)",
            exit_code=1,
        )
    console.print(f"[bold]{price.resolved_model}[/bold]  source {price.price_source} {price.price_version}"
                  f"  at {at.isoformat()}", highlight=False)
    rows = [[name, rate] for name, rate in price.rates.describe()]
    print_rows(console, ["rate", "USD per million tokens (per_request: per request)"], rows, "table")
    return 0


def run_check(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    book = _book(settings.price_overrides_file)
    unpriced: dict[tuple[str, str], int] = {}
    invalid = 0
    with _open(args.file) as stream:
        for number, line in _lines(stream):
            decoded, dead = decode_message(SourceMessage(line, None, args.file, 0, number), datetime.now(UTC))
            invalid += len(dead)
            for item in decoded:
                event = item.event
                model = event.model or "unknown"
                if book.resolve(event.provider, model, event.occurred_at, event.tenant_id) is None:
                    key = (event.provider, model)
                    unpriced[key] = unpriced.get(key, 0) + 1
    rows = [[provider, model, count] for (provider, model), count in sorted(unpriced.items())]
    if rows:
        print_rows(console, ["provider", "model", "events"], rows, "table")
    else:
        console.print("every model in the file has a price")
    if invalid:
        console.print(f"[yellow]{invalid} event(s) are invalid; `costream price` shows why[/yellow]")
    return 1 if rows else 0


def run_diff(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from stream.pricing.diff import diff_books

    old_path = Path(args.old) if args.old else settings.price_overrides_file
    new_path = Path(args.new_file)
    if not new_path.is_file():
        raise CliError(f"no such file: {new_path}")
    changes = diff_books(_book(old_path), _book(new_path), _time(args.at))
    if not changes:
        console.print("no price changes")
        return 0
    rows = [[c.kind.value, c.source, c.provider, c.model, c.rate, c.old, c.new] for c in changes]
    print_rows(console, ["change", "source", "provider", "model", "rate", "old", "new"], rows, "table")
    return 0
