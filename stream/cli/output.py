"""Printing tabular results as a rich table, JSON or CSV."""

import csv
import io
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table

from stream.web.jsonutil import dumps

FORMATS = ("table", "json", "csv")


def _cell(value: Any) -> str:
    if value is None:
        return ""
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
            table.add_row(*(_cell(value) for value in row))
        console.print(table)
        console.print(f"[dim]{len(rows)} row(s)[/dim]")
