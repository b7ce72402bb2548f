"""``costream price`` and ``costream prices show|check|diff``: the pricing engine on the
command line, the same code the agent runs, no Kafka or ClickHouse needed."""

import argparse
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
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
from stream.pricing.corrections import CorrectionsError
from stream.pricing.datafile import PriceData, PriceDataError, configured_data


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

    audit = actions.add_parser(
        "audit", help="compare the catalog with an independent price table; exit 1 on a disagreement in use",
    )
    audit.add_argument("--models-seen", action="store_true",
                       help="only the models in the store count as in use (default: every current model)")
    audit.add_argument("--format", choices=("table", "json"), default="table")
    audit.add_argument("--all", action="store_true", help="also list resolved disagreements and missing models")
    audit.add_argument("--litellm", help="a LiteLLM price table to audit against (default: the one kept in costream)")
    audit.set_defaults(handler=run_audit)


def _book(path: Path | None, settings: Settings | None = None) -> PriceBook:
    data = price_data(settings) if settings is not None else None
    try:
        return PriceBook.load(path, data=data)
    except OverridesError as exc:
        raise CliError(str(exc), "see README, section Prices, for the overrides format") from None
    except CorrectionsError as exc:
        raise CliError(str(exc), "fix the entry in stream/pricing/data/corrections/") from None


def price_data(settings: Settings) -> PriceData | None:
    """The genai-prices data file or URL the settings name, else None (the bundled data)."""
    try:
        return configured_data(settings.price_data_file, settings.price_data_url)
    except PriceDataError as exc:
        raise CliError(str(exc), "fix or unset COSTREAM_PRICE_DATA_FILE / COSTREAM_PRICE_DATA_URL") from None


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
    book = _book(settings.price_overrides_file, settings)
    out = sys.stdout.buffer
    seen: set[tuple[str, str]] = set()  # (tenant_id, event_id): the worker counts a repeat once
    with _open(args.file) as stream:
        for number, line in _lines(stream):
            message = SourceMessage(line, None, args.file, 0, number)
            result = process_messages([message], book, datetime.now(UTC))
            for record in result.priced:
                key = (record.event.tenant_id, str(record.event.event_id))
                if key in seen:
                    out.write(orjson.dumps({"event_id": key[1], "tenant_id": key[0], "duplicate_of": key[1],
                                            "line": number}) + b"\n")
                    continue
                seen.add(key)
                out.write(encode_priced_event(record.event) + b"\n")
            for letter in result.dead:
                error = {"type": letter.error_type, "message": letter.error, "line": number}
                if letter.batch_index is not None:
                    error["batch_index"] = letter.batch_index
                out.write(orjson.dumps({"event_id": letter.event_id, "error": error}) + b"\n")
    out.flush()
    return 0


def run_show(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    book = _book(settings.price_overrides_file, settings)
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
    book = _book(settings.price_overrides_file, settings)
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


def _plain(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


def _models_seen(settings: Settings) -> list[tuple[str, str]]:
    from stream.cli.query import query_direct, query_worker

    sql = "SELECT provider, model FROM usage_events GROUP BY provider, model"
    answer = query_worker(settings, sql, {}) if settings.embedded_store else None
    if answer is None:
        answer = query_direct(settings, sql, {})
    return [(str(provider), str(model)) for provider, model in answer["rows"]]


def run_audit(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    from stream.pricing.audit import Status, audit
    from stream.pricing.litellm import LiteLLMTable

    try:
        table = LiteLLMTable.load(Path(args.litellm) if args.litellm else None)
    except (OSError, ValueError) as exc:
        raise CliError(f"cannot read the LiteLLM price table: {exc}",
                       "pass --litellm with a model_prices_and_context_window JSON file") from None
    book = _book(None, settings)  # the catalog below the operator's and tenants' overrides
    seen = _models_seen(settings) if args.models_seen else None
    report = audit(book, table, seen=seen)
    unresolved = [f for f in report.findings if f.in_use and f.status is Status.UNRESOLVED]
    if args.format == "json":
        document = {
            "at": report.at.isoformat().replace("+00:00", "Z"),
            "sources": [{"name": s.name, "version": s.version, "data_date": s.data_date, "origin": s.origin}
                        for s in report.sources],
            "compared": report.compared,
            "unresolved_in_use": len(unresolved),
            "findings": [{
                "kind": f.kind.value, "status": f.status.value, "in_use": f.in_use, "provider": f.provider,
                "model": f.model, "compared_id": f.compared_id, "rate": f.rate,
                "genai-prices": _plain(f.genai_prices), "corrections": _plain(f.correction),
                "litellm": _plain(f.other), "difference": _plain(f.difference.quantize(Decimal("0.0001")))
                if f.difference is not None else None,
                "catalog_source": f.catalog_source, "note": f.note,
            } for f in report.findings],
        }
        sys.stdout.buffer.write(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
        return 1 if report.failed else 0
    for source in report.sources:
        console.print(f"{source.name:<13} {source.version:<22} data of {source.data_date or 'unknown date'}"
                      f"  ({source.origin})", highlight=False)
    shown = [f for f in report.findings if args.all or (f.in_use and f.status is Status.UNRESOLVED)]
    if shown:
        rows = [[f.status.value, f.kind.value, f.model, f.compared_id or "", f.rate or "",
                 _plain(f.genai_prices) or "", _plain(f.correction) or "", _plain(f.other) or "",
                 f"{f.difference * 100:.1f}%" if f.difference is not None else "", f.note] for f in shown]
        print_rows(console, ["status", "kind", "model", "litellm id", "rate", "genai-prices", "corrections",
                             "litellm", "diff", "note"], rows, "table")
    counts = {status: sum(1 for f in report.findings if f.status is status) for status in Status}
    console.print(
        f"{report.compared} ids compared at {report.at.date()}: {len(unresolved)} unresolved disagreement(s) "
        f"in use, {counts[Status.RESOLVED]} resolved, {counts[Status.INFO]} missing from a source"
        + ("" if args.all else " (--all lists them)"), highlight=False,
    )
    return 1 if report.failed else 0
