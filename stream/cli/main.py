"""Entry point of the ``costream`` command."""

import argparse
import logging
import sys
from collections.abc import Sequence

from rich.console import Console

from stream import __version__
from stream.cli import budgets, demo, pricing, publish, query, reconcile, report, reprice, stack, status, tokens
from stream.cli.errors import CliError
from stream.config import SettingsError, load_settings

COMMAND_MODULES = (stack, publish, demo, query, report, reconcile, reprice, status, pricing, budgets, tokens)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="costream",
        description="LLM usage events in, exact cost out: Kafka + Faust + ClickHouse. "
        "Settings come from COSTREAM_* environment variables (see README).",
    )
    parser.add_argument("--version", action="version", version=f"costream {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module in COMMAND_MODULES:
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    console = Console(stderr=False)
    errors = Console(stderr=True)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        settings = load_settings()
        logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
        code: int = args.handler(args, settings, console)
        return code
    except SettingsError as exc:
        errors.print(f"[red]error:[/red] {exc}", highlight=False)
        return 2
    except CliError as exc:
        errors.print(f"[red]error:[/red] {exc.message}", highlight=False)
        if exc.hint:
            errors.print(f"[dim]hint:[/dim] {exc.hint}", highlight=False)
        return exc.exit_code
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
