"""Printing tabular results as a rich table, JSON or CSV."""

import csv
import io
import re
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

from stream.web.jsonutil import dumps

FORMATS = ("table", "json", "csv")
_MONEY_TEXT = re.compile(r"^-?\d+(\.\d{18}|E-18)$")
"""How Decimal(38, 18) money reads in JSON: always 18 places (or 0E-18)."""


def _cell(value: Any, pretty: bool = False) -> str:
    """A value as text; ``pretty`` (tables) drops the trailing zeros that the 18-place
    money scale adds, CSV keeps every value as sent."""
    if value is None:
        return ""
    if pretty and isinstance(value, str) and _MONEY_TEXT.match(value):
        value = Decimal(value)  # money arrives from the worker's JSON as exact strings
    if pretty and isinstance(value, Decimal) and value.as_tuple().exponent == -18:
        return f"{value.normalize():f}"  # exact, without the 18-place scale's trailing zeros
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def print_rows(console: Console, columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> None:
    if fmt == "json":
        sys.stdout.buffer.write(dumps([dict(zip(columns, row, strict=True)) for row in rows]) + b"\n")
        sys.stdout.flush()
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[_cell(value) for value in row] for row in rows])
        sys.stdout.write(buffer.getvalue())
        sys.stdout.flush()
    else:
        table = Table(show_lines=False, header_style="bold")
        for column in columns:
            table.add_column(column)
        for row in rows:
            table.add_row(*(_cell(value, pretty=True) for value in row))
        console.print(table)
        console.print(f"[dim]{len(rows)} row(s)[/dim]")
