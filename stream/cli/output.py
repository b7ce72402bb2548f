"""Printing tabular results as a rich table, JSON or CSV.

JSON and CSV carry every decimal as a plain string (``plain_decimal``: never ``0E-18``).
A table never cuts a value: when the rows are wider than the terminal, the columns that
are neither an id, the first column nor money are left out, rightmost first, and named
under the table; when that is not enough (or would hide most columns), each row is
printed as its own block of ``column  value`` lines, which wrap but never truncate.
"""

import csv
import io
import re
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.measure import Measurement
from rich.table import Table

from schemas.money import COST_SCALE, plain_decimal
from stream.web.jsonutil import dumps

FORMATS = ("table", "json", "csv")
_MONEY_TEXT = re.compile(rf"^-?\d+\.\d{{{COST_SCALE}}}$")
"""How Decimal(38, 18) money reads in the worker's JSON: always 18 places."""
_MONEY_NAME = re.compile(r"(cost|usd|savings|spend|month_to_date|projected_month_end)$")
_ID_NAME = re.compile(r"((^|_)id|percent_used|state|severity)$")
"""Ids, and the few columns that say what a row means (a budget's state, a breach's severity)."""


def _is_money(value: Any) -> bool:
    return isinstance(value, Decimal) or (isinstance(value, str) and bool(_MONEY_TEXT.match(value)))


def text_cell(value: Any, pretty: bool = False) -> str:
    """A value as text. Decimals are plain (never exponent notation); ``pretty`` (tables)
    also drops the trailing zeros that the 18-place money scale adds, exactly."""
    if value is None:
        return ""
    if pretty and isinstance(value, str) and _MONEY_TEXT.match(value):
        value = Decimal(value)  # money arrives from the worker's JSON as exact strings
    if isinstance(value, Decimal):
        if pretty and value.as_tuple().exponent == -COST_SCALE:
            value = value.normalize()  # exact, without the 18-place scale's trailing zeros
        return plain_decimal(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", "replace")
    return str(value)


def essential_columns(columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> list[bool]:
    """Which columns a narrow table keeps: the first (the row's name), ids and money."""
    keep = []
    for index, name in enumerate(columns):
        money = bool(_MONEY_NAME.search(name)) or any(_is_money(row[index]) for row in rows)
        keep.append(index == 0 or money or bool(_ID_NAME.search(name)))
    return keep


def _table(columns: Sequence[str], cells: Sequence[Sequence[str]], shown: Sequence[int]) -> Table:
    table = Table(show_lines=False, header_style="bold")
    for index in shown:
        table.add_column(columns[index], no_wrap=True, overflow="fold")
    for row in cells:
        table.add_row(*(row[index] for index in shown))
    return table


def _width(console: Console, table: Table) -> int:
    """The table's natural width, measured as if the terminal were unbounded."""
    return Measurement.get(console, console.options.update_width(1 << 20), table).maximum


def print_table(console: Console, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    cells = [[text_cell(value, pretty=True) for value in row] for row in rows]
    shown = list(range(len(columns)))
    table = _table(columns, cells, shown)
    if _width(console, table) <= console.width:
        console.print(table)
        console.print(f"[dim]{len(rows)} row(s)[/dim]")
        return
    keep = essential_columns(columns, rows)
    droppable = [index for index in reversed(shown) if not keep[index]]
    hidden: list[int] = []
    for index in droppable:
        if len(hidden) + 1 > len(columns) // 2:
            break  # hiding most of the columns says less than the vertical layout
        hidden.append(index)
        shown.remove(index)
        table = _table(columns, cells, shown)
        if _width(console, table) <= console.width:
            console.print(table)
            names = ", ".join(columns[index] for index in sorted(hidden))
            console.print(f"[dim]{len(rows)} row(s); not shown at this width: {names} "
                          "(a wider terminal or --format json shows them)[/dim]", highlight=False)
            return
    print_vertical(console, columns, cells)


def print_vertical(console: Console, columns: Sequence[str], cells: Sequence[Sequence[str]]) -> None:
    """One block per row, one line per column: values wrap, nothing is cut."""
    for number, row in enumerate(cells, start=1):
        console.rule(f"row {number}", align="left", style="dim")
        block = Table.grid(padding=(0, 2))
        block.add_column(style="bold", no_wrap=True)
        block.add_column(overflow="fold")
        for name, value in zip(columns, row, strict=True):
            block.add_row(name, value)
        console.print(block)
    console.print(f"[dim]{len(cells)} row(s)[/dim]")


def print_rows(console: Console, columns: Sequence[str], rows: Sequence[Sequence[Any]], fmt: str) -> None:
    if fmt == "json":
        sys.stdout.buffer.write(dumps([dict(zip(columns, row, strict=True)) for row in rows]) + b"\n")
        sys.stdout.flush()
    elif fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(columns)
        writer.writerows([[text_cell(value) for value in row] for row in rows])
        sys.stdout.write(buffer.getvalue())
        sys.stdout.flush()
    else:
        print_table(console, columns, rows)
