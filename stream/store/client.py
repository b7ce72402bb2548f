"""One ClickHouse connection, embedded (chDB) or over HTTP, used from asyncio.

clickhouse-connect is synchronous, and chDB runs the engine inside this process and
allows one process per data path. Every call therefore goes through a single worker
thread: the event loop never blocks on ClickHouse, and chDB never sees two calls at once.
"""

import asyncio
import logging
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import clickhouse_connect
import msgspec
from clickhouse_connect.driver.client import Client
from clickhouse_connect.driver.query import QueryResult

from stream.config import Settings

log = logging.getLogger(__name__)


def as_utc(value: datetime) -> datetime:
    """clickhouse-connect returns naive datetimes for UTC columns; make them comparable."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


_encode_lines = msgspec.json.Encoder().encode_lines
_decode_lines = msgspec.json.Decoder().decode_lines


def inline_table(structure: str, rows: Iterable[Sequence[Any]]) -> str:
    """A table of ``rows`` (columns as ``structure`` names them) to put in a query's text.

    The rows travel as ``JSONCompactEachRow`` inside a heredoc literal, which the engine
    parses in C++; the driver's parameter binding escapes strings one character at a
    time in Python, and a long ``IN (...)`` of literals goes through the SQL parser,
    each several times slower for the thousands of ids of a batch. A query carrying one
    needs :data:`INLINE_QUERY_SETTINGS`."""
    data = _encode_lines(rows).decode()
    tag, n = "$rows$", 0
    while tag in data:  # only the closing tag ends a heredoc: pick one the data lacks
        n += 1
        tag = f"$rows{n}$"
    return f"format(JSONCompactEachRow, '{structure}', {tag}{data}{tag})"


INLINE_QUERY_SETTINGS = {"max_query_size": 256 * 1024 * 1024}


Rows = Sequence[Sequence[Any]] | Callable[[], Iterable[Sequence[Any]]]
"""Rows, or a function that makes them (run on the store's thread)."""


class StoreUnavailable(RuntimeError):
    """The store cannot be opened (bad URL, data path held by another process, server down)."""


# Session settings of the connection that serves ad-hoc (user) queries. They live on a
# connection of their own: chDB keeps a failed query's settings in its session, so a
# per-query ``readonly`` would leak into the connection that writes.
READER_SETTINGS = {
    "readonly": 2, "final": 1, "max_execution_time": 120, "max_result_rows": 1_000_000, "result_overflow_mode": "throw",
}


@dataclass(frozen=True, slots=True)
class Credentials:
    """ClickHouse server login kept apart from the URL, so no URL ever carries a password."""

    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None


# Session settings of the connection that writes to a ClickHouse server. On a cluster,
# inserts into a Distributed table return only once every shard has the rows, so windows
# and budget spend read right after a batch see it (a no-op on a single node).
# With replicas, an insert returns once a majority of them has it (``insert_quorum``), which
# is what lets sequentially consistent reads (below) see it from any replica.
WRITER_SETTINGS: dict[str, Any] = {"insert_distributed_sync": 1, "insert_quorum": "auto"}

# How the writing connection reads the JSON rows of :meth:`ClickHouseStore.insert_json`:
# datetimes as msgspec writes them (RFC 3339), null as the column's default. Both
# embedded and on a server.
INPUT_SETTINGS: dict[str, Any] = {"date_time_input_format": "best_effort", "input_format_null_as_default": 1}

# What the worker reads back to decide (duplicates, recovery, reconciliation) must not
# come from a replica that has not caught up: on a replicated server, such reads ask for
# sequential consistency (ignored by non-replicated tables and by chDB).
CONSISTENT_READ_SETTINGS = {"select_sequential_consistency": 1}


def connect(dsn: str, settings: dict[str, Any] | None = None, credentials: Credentials | None = None) -> Client:
    credentials = credentials or Credentials()
    try:
        if dsn.startswith("chdb://"):
            path = Path(dsn.removeprefix("chdb://"))
            path.mkdir(parents=True, exist_ok=True)
            return clickhouse_connect.get_client(dsn=f"chdb://{path}", settings=settings)
        parts = urlsplit(dsn)
        return clickhouse_connect.get_client(
            settings=settings,
            host=parts.hostname or "localhost",
            port=parts.port or (8443 if parts.scheme == "https" else 8123),
            username=credentials.username or parts.username or "default",
            password=credentials.password or parts.password or "",
            database=parts.path.strip("/") or "default",
            secure=parts.scheme == "https",
            ca_cert=str(credentials.ca_file) if credentials.ca_file else None,
        )
    except Exception as exc:
        where = dsn.split("@")[-1]  # never print credentials
        raise StoreUnavailable(f"cannot open ClickHouse at {where}: {exc}") from exc


class ClickHouseStore:
    def __init__(self, dsn: str, credentials: Credentials | None = None) -> None:
        self.dsn = dsn
        self.credentials = credentials
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="clickhouse")
        self._client: Client | None = None
        self._reader: Client | None = None

    @property
    def embedded(self) -> bool:
        return self.dsn.startswith("chdb://")

    def _connected(self) -> Client:
        if self._client is None:
            writer = INPUT_SETTINGS if self.embedded else {**WRITER_SETTINGS, **INPUT_SETTINGS}
            self._client = connect(self.dsn, writer, credentials=self.credentials)
        return self._client

    def _reading(self) -> Client:
        if self._reader is None:
            self._reader = connect(self.dsn, READER_SETTINGS, self.credentials)
        return self._reader

    async def _run(self, fn: Any, *args: Any, **kwargs: Any) -> Any:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: fn(*args, **kwargs))

    # --- sync API (CLI, migrations, tests) --------------------------------------------------
    def command_sync(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        return self._executor.submit(lambda: self._connected().command(sql, parameters=parameters)).result()

    def query_sync(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> QueryResult:
        return self._executor.submit(
            lambda: self._connected().query(sql, parameters=parameters, settings=settings)
        ).result()

    # --- async API (worker) -----------------------------------------------------------------
    async def query(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> QueryResult:
        result: QueryResult = await self._run(
            lambda: self._connected().query(sql, parameters=parameters, settings=settings)
        )
        return result

    async def query_consistent(
        self, sql: str, parameters: dict[str, Any] | None = None, settings: dict[str, Any] | None = None
    ) -> QueryResult:
        """A read the worker acts on: from an up-to-date replica on a replicated server."""
        return await self.query(sql, parameters=parameters, settings=self._consistent(settings))

    def _consistent(self, settings: dict[str, Any] | None) -> dict[str, Any] | None:
        """``settings`` for a read the worker acts on (from an up-to-date replica)."""
        merged = {**(settings or {}), **({} if self.embedded else CONSISTENT_READ_SETTINGS)}
        return merged or None

    async def query_rows(self, sql: str, settings: dict[str, Any] | None = None) -> list[list[Any]]:
        """As :meth:`query_consistent`, for a query carrying an :func:`inline_table`: the
        rows as JSON values (64-bit integers as strings, DateTime64 as text: select what
        the caller reads). The driver's ``query`` scans the whole text in Python (comments,
        ``LIMIT``, format) before sending it, which for a batch's thousands of ids costs
        more than the engine's lookup; a raw query is sent as it is and its
        ``JSONCompactEachRow`` answer is read by msgspec."""
        consistent = self._consistent(settings)

        def run() -> list[list[Any]]:
            body = self._connected().raw_query(sql, settings=consistent, fmt="JSONCompactEachRow")
            rows: list[list[Any]] = _decode_lines(body)
            return rows

        rows: list[list[Any]] = await self._run(run)
        return rows

    async def query_readonly(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        """A user's query: read-only and deduplicated (``final``), on its own connection."""
        result: QueryResult = await self._run(lambda: self._reading().query(sql, parameters=parameters))
        return result

    def query_readonly_sync(self, sql: str, parameters: dict[str, Any] | None = None) -> QueryResult:
        return self._executor.submit(lambda: self._reading().query(sql, parameters=parameters)).result()

    async def command(self, sql: str, parameters: dict[str, Any] | None = None) -> Any:
        return await self._run(lambda: self._connected().command(sql, parameters=parameters))

    async def insert(self, table: str, rows: Rows, columns: Sequence[str]) -> None:
        """``rows`` may be a function that builds them: it then runs on the store's thread,
        so building a big batch's rows does not hold the event loop."""

        def insert() -> None:
            data = list(rows()) if callable(rows) else rows
            self._connected().insert(table, data, column_names=list(columns))

        await self._run(insert)

    async def insert_json(
        self, table: str, rows: Callable[[], Iterable[Sequence[Any]]], columns: Sequence[str],
        settings: dict[str, Any] | None = None,
    ) -> None:
        """Rows (``rows()`` runs on the store's thread) as ``JSONCompactEachRow``.

        msgspec writes a row in C and the engine parses it in C++: for wide rows this is
        several times cheaper than the driver's Native encoding, which builds every
        column in Python. Values are written as msgspec writes them: Decimals as exact
        strings, datetimes in RFC 3339 (truncated to the column's precision, as a Native
        insert truncates), enums by value, None as NULL. ``settings`` apply to this insert."""

        def insert() -> None:
            body = _encode_lines(rows())
            if body:
                self._connected().raw_insert(table, list(columns), settings=settings, insert_block=body,
                                             fmt="JSONCompactEachRow")  # fmt: skip

        await self._run(insert)

    def close(self) -> None:
        for client in (self._reader, self._client):
            if client is not None:
                self._executor.submit(client.close).result()
        self._client = self._reader = None
        self._executor.shutdown(wait=True)


def open_store(settings: Settings) -> ClickHouseStore:
    """The store the settings name (connected lazily, on first use)."""
    password = settings.clickhouse_password.get_secret_value() if settings.clickhouse_password else None
    credentials = Credentials(settings.clickhouse_username, password, settings.clickhouse_ca_file)
    return ClickHouseStore(settings.clickhouse_dsn, credentials)
