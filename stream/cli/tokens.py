"""``costream token new``: a bearer token for the HTTP API and the tokens-file entry
that accepts it (only its SHA-256 digest is stored)."""

import argparse
from typing import Any

import yaml
from rich.console import Console

from stream.cli.errors import CliError
from stream.config import Settings
from stream.web.auth import TokenEntry, digest, new_token


def register(commands: Any) -> None:
    parser = commands.add_parser("token", help="make API bearer tokens", description=__doc__)
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    new = actions.add_parser("new", help="print a new token and its entry for COSTREAM_API_TOKENS_FILE")
    new.add_argument("--name", required=True, help="what the token is for, e.g. acme-dashboard")
    role = new.add_mutually_exclusive_group(required=True)
    role.add_argument("--tenant", help="the one tenant the token may read")
    role.add_argument("--admin", action="store_true", help="every tenant, plus SQL and stats")
    new.set_defaults(handler=run_new)


def run_new(args: argparse.Namespace, settings: Settings, console: Console) -> int:
    token = new_token()
    try:
        entry = TokenEntry(name=args.name, sha256=digest(token), tenant=args.tenant, admin=args.admin)
    except ValueError as exc:
        raise CliError(f"invalid token entry: {exc}") from None
    console.print(f"token (shown once; give it to the client): [bold]{token}[/bold]", highlight=False)
    console.print("add this entry under 'tokens:' in the file COSTREAM_API_TOKENS_FILE names:")
    console.print(yaml.safe_dump([entry.model_dump(exclude_defaults=True)], sort_keys=False).rstrip(), highlight=False)
    return 0
