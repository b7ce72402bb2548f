"""The cluster form of the migrations: replicated local tables behind Distributed tables.

For every table a migration creates, ``costream migrate --cluster NAME`` creates

- ``<table>_local`` ``ON CLUSTER NAME``: the same columns, partitioning, sorting key and
  settings, with the Replicated variant of the engine
  (``ReplacingMergeTree(v)`` -> ``ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/<table>_local',
  '{replica}', v)``), so the replicas of a shard hold the same rows;
- ``<table>`` ``ON CLUSTER NAME``: ``Distributed(NAME, <database>, <table>_local, <sharding key>)``
  under the original name, so every statement the worker and the reports run
  (``FROM usage_events FINAL``, inserts, window and rollup ``INSERT ... SELECT``) is the same
  on a single node, on a cluster and embedded.

``ALTER TABLE`` statements go to the local tables ``ON CLUSTER`` (skip indexes, projections,
TTL and settings live there: a Distributed table has none); column changes are applied to
the Distributed table as well, since it must expose the same columns.

Why generated rather than written twice: the single-node ``.sql`` files stay the one
statement of the schema. A hand-kept second copy of every migration for clusters would
drift (a column added in one and forgotten in the other shows up as a failing insert on a
cluster only, long after review), and every new migration would cost two reviews. The
rewrite is small and mechanical (table names, ``ON CLUSTER``, the engine, one extra
table), it is tested against every real migration file, and a statement it does not know
(anything other than ``CREATE TABLE`` and ``ALTER TABLE``) is refused loudly rather than
passed through, so a migration that needs a cluster form of its own is noticed by the
tests.

Sharding key. ReplacingMergeTree and ``FINAL`` collapse duplicates within a shard only,
so the sharding key must be a function of the sorting (deduplication) key: every copy of
a row then lands on the same shard. Tables whose sorting key holds ``tenant_id`` are
sharded by ``cityHash64(tenant_id)``: all of a tenant's rows, hence every duplicate of one
of its events, windows or rollups, live on one shard, and per-tenant queries (budgets,
reports) touch one shard's data. Other tables are sharded by a hash of their whole sorting
key (see :func:`sharding_key`).

Names are qualified with the database: with ``ON CLUSTER``, ``currentDatabase()`` in
engine arguments and an unqualified ``AS table`` resolve against each host's default
database, not the caller's (ClickHouse issues 6104, 37318).

Operators: inserts into a Distributed table are queued and sent in the background unless
``distributed_foreground_insert = 1`` (alias ``insert_distributed_sync``) is set for the
costream user. With more than one shard, set it in the user's profile: the worker reads
windows and budget spend back right after storing a batch, and must see the batch.
"""

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

_PLAIN_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_IDENTIFIER = r"(?:`(?:[^`\\]|\\.)+`|[A-Za-z_][A-Za-z0-9_]*)"
_CREATE = re.compile(rf"^\s*CREATE\s+TABLE\s+(?P<if>IF\s+NOT\s+EXISTS\s+)?(?P<name>{_IDENTIFIER})\s*\(", re.I)
_ENGINE = re.compile(r"\s*ENGINE\s*=\s*(?P<engine>[A-Za-z_][A-Za-z0-9_]*)\s*", re.I)
_ALTER = re.compile(rf"^\s*ALTER\s+TABLE\s+(?P<name>{_IDENTIFIER})\s+", re.I)
_ON_CLUSTER = re.compile(r"^ON\s+CLUSTER\b", re.I)
_ORDER_BY = re.compile(r"\bORDER\s+BY\b", re.I)
_NEXT_CLAUSE = re.compile(r"\b(?:PRIMARY\s+KEY|SAMPLE\s+BY|TTL|SETTINGS|COMMENT|PARTITION\s+BY)\b", re.I)
_COLUMN_CLAUSE = re.compile(r"^\s*(?:ADD|DROP|MODIFY|RENAME|COMMENT)\s+COLUMN\b", re.I)
_NOT_A_COLUMN = frozenset({"INDEX", "PROJECTION", "CONSTRAINT"})
CLUSTER_NAME = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,199}$")

TENANT_COLUMN = "tenant_id"
LOCAL_SUFFIX = "_local"


class ClusterDDLError(ValueError):
    """A migration statement has no cluster form (yet)."""


def quote_identifier(name: str) -> str:
    if _PLAIN_IDENTIFIER.match(name):
        return name
    return "`" + name.replace("\\", "\\\\").replace("`", "\\`") + "`"


def quote_literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _unquote(identifier: str) -> str:
    if identifier.startswith("`"):
        return re.sub(r"\\(.)", r"\1", identifier[1:-1])
    return identifier


def _on_cluster(cluster: str) -> str:
    if not CLUSTER_NAME.match(cluster):
        raise ClusterDDLError(f"'{cluster}' is not a cluster name (letters, digits, '_', '.', '-')")
    return f"ON CLUSTER {quote_identifier(cluster) if _PLAIN_IDENTIFIER.match(cluster) else quote_literal(cluster)}"


# --- a small lexer: string literals, quoted identifiers and comments out of the way ---------
def _blank(sql: str) -> str:
    """``sql`` with the inside of quotes and comments replaced by spaces, same length, so
    parentheses, commas and keywords can be found by position without being fooled by text."""
    out = list(sql)
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char in "'\"`":
            j = i + 1
            while j < n and sql[j] != char:
                j += 2 if sql[j] == "\\" else 1
            for k in range(i + 1, min(j, n)):
                out[k] = "_" if char == "`" else " "
            i = j + 1
        elif sql.startswith("--", i):
            j = sql.find("\n", i)
            j = n if j < 0 else j
            out[i:j] = " " * (j - i)
            i = j
        elif sql.startswith("/*", i):
            j = sql.find("*/", i + 2)
            j = n if j < 0 else j + 2
            out[i:j] = " " * (j - i)
            i = j
        else:
            i += 1
    return "".join(out)


def _depths(masked: str) -> list[int]:
    depth, out = 0, []
    for char in masked:
        if char == ")":
            depth -= 1
        out.append(depth)
        if char == "(":
            depth += 1
    return out


def _closing(masked: str, opening: int) -> int:
    depth = 0
    for index in range(opening, len(masked)):
        if masked[index] == "(":
            depth += 1
        elif masked[index] == ")":
            depth -= 1
            if depth == 0:
                return index
    raise ClusterDDLError("unbalanced parentheses")


def _split_top_level(text: str) -> list[str]:
    masked = _blank(text)
    depths = _depths(masked)
    parts, start = [], 0
    for index, char in enumerate(masked):
        if char == "," and depths[index] == 0:
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts if part.strip()]


def _top_level_matches(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    masked = _blank(text)
    depths = _depths(masked)
    return (match for match in pattern.finditer(masked) if depths[match.start()] == 0)


# --- parsing the single-node statements ---------------------------------------------------
@dataclass(frozen=True, slots=True)
class CreateTable:
    name: str
    if_not_exists: bool
    columns: str
    """The text between the parentheses, as written."""
    engine: str
    engine_args: str | None
    clauses: str
    """Everything after the engine (PARTITION BY, ORDER BY, SETTINGS...), as written."""

    def column_types(self) -> dict[str, str]:
        types = {}
        for entry in _split_top_level(self.columns):
            match = re.match(rf"^({_IDENTIFIER})\s+(.*)$", entry, re.S)
            if match is None or match.group(1).upper() in _NOT_A_COLUMN:
                continue
            types[_unquote(match.group(1))] = match.group(2).strip()
        return types

    def sorting_key(self) -> list[str]:
        """The ORDER BY expressions: the key ReplacingMergeTree deduplicates on."""
        found = next(_top_level_matches(_ORDER_BY, self.clauses), None)
        if found is None:
            return []
        rest = self.clauses[found.end():]
        following = next(_top_level_matches(_NEXT_CLAUSE, rest), None)
        expression = rest[: following.start() if following else len(rest)].strip()
        masked = _blank(expression)
        if expression.startswith("(") and _closing(masked, 0) == len(expression) - 1:
            return _split_top_level(expression[1:-1])
        if re.fullmatch(r"tuple\s*\(\s*\)", expression, re.I):
            return []
        return [expression]


@dataclass(frozen=True, slots=True)
class AlterTable:
    name: str
    clauses: tuple[str, ...]


def parse_create(statement: str) -> CreateTable:
    sql = statement.strip().rstrip(";").rstrip()
    masked = _blank(sql)
    head = _CREATE.match(masked)
    if head is None:
        raise ClusterDDLError(f"not a CREATE TABLE name (columns) statement: {_first_line(sql)}")
    name = _unquote(sql[head.start("name"):head.end("name")])
    opening = head.end() - 1
    closing = _closing(masked, opening)
    engine = _ENGINE.match(masked, closing + 1)
    if engine is None:
        raise ClusterDDLError(f"CREATE TABLE {name}: no ENGINE = ... after the columns")
    position = engine.end()
    arguments = None
    if position < len(masked) and masked[position] == "(":
        end = _closing(masked, position)
        arguments = sql[position + 1:end].strip()
        position = end + 1
    return CreateTable(
        name=name, if_not_exists=head.group("if") is not None, columns=sql[opening + 1:closing],
        engine=engine.group("engine"), engine_args=arguments or None, clauses=sql[position:].strip(),
    )


def parse_alter(statement: str) -> AlterTable:
    sql = statement.strip().rstrip(";").rstrip()
    head = _ALTER.match(_blank(sql))
    if head is None:
        raise ClusterDDLError(f"not an ALTER TABLE statement: {_first_line(sql)}")
    name = _unquote(sql[head.start("name"):head.end("name")])
    rest = sql[head.end():]
    if _ON_CLUSTER.match(rest):
        raise ClusterDDLError(f"ALTER TABLE {name} already names a cluster; migrations are written for one node")
    clauses = tuple(_split_top_level(rest))
    if not clauses:
        raise ClusterDDLError(f"ALTER TABLE {name}: nothing to alter")
    return AlterTable(name, clauses)


def _first_line(sql: str) -> str:
    return sql.strip().splitlines()[0][:120] if sql.strip() else "(empty)"


# --- the cluster form -------------------------------------------------------------------------
def local_name(table: str) -> str:
    return table + LOCAL_SUFFIX


def replicated_engine(table: CreateTable) -> str:
    """``XMergeTree(args)`` -> ``ReplicatedXMergeTree('<keeper path>', '{replica}', args)``."""
    if not table.engine.endswith("MergeTree"):
        raise ClusterDDLError(f"{table.name}: engine {table.engine} has no replicated variant")
    if table.engine.startswith("Replicated"):
        raise ClusterDDLError(f"{table.name}: already {table.engine}; migrations are written for one node")
    path = "/clickhouse/tables/{shard}/{database}/" + local_name(table.name)
    arguments = [quote_literal(path), quote_literal("{replica}")]
    if table.engine_args:
        arguments.append(table.engine_args)
    return f"Replicated{table.engine}({', '.join(arguments)})"


def _nullable(column_type: str) -> bool:
    return bool(re.match(r"^(?:LowCardinality\s*\(\s*)?Nullable\s*\(", column_type, re.I))


def sharding_key(table: CreateTable) -> str:
    """Which shard a row goes to; a function of the sorting key, so duplicates meet.

    By tenant when ``tenant_id`` (not nullable) is part of the sorting key. Otherwise a
    hash of the whole sorting key: it is stable (the same row always hashes the same),
    spreads rows evenly, and since ReplacingMergeTree deduplicates on exactly that key,
    all copies of a row share a shard. For the current tables this is
    ``dead_letters`` (keyed by source topic, partition, offset and batch index; its
    ``tenant_id`` is nullable, unknown for input that is not JSON, and a Distributed
    sharding expression must not be Nullable), ``window_passes`` (keyed by consumer
    group and partition) and ``schema_migrations`` (keyed by version).
    """
    key = table.sorting_key()
    if not key:
        raise ClusterDDLError(
            f"{table.name}: no ORDER BY key to shard by; duplicates could land on different shards"
        )
    tenant_type = table.column_types().get(TENANT_COLUMN)
    if TENANT_COLUMN in key and tenant_type is not None and not _nullable(tenant_type):
        return f"cityHash64({TENANT_COLUMN})"
    return f"cityHash64({', '.join(key)})"


def _qualified(database: str, table: str) -> str:
    return f"{quote_identifier(database)}.{quote_identifier(table)}"


def create_statements(table: CreateTable, cluster: str, database: str) -> tuple[str, str]:
    """The replicated local table, then the Distributed table under the original name."""
    if_not_exists = "IF NOT EXISTS " if table.if_not_exists else ""
    local = local_name(table.name)
    on_cluster = _on_cluster(cluster)
    create_local = (
        f"CREATE TABLE {if_not_exists}{_qualified(database, local)} {on_cluster}\n"
        f"({table.columns})\n"
        f"ENGINE = {replicated_engine(table)}"
        + (f"\n{table.clauses}" if table.clauses else "")
    )
    create_distributed = (
        f"CREATE TABLE {if_not_exists}{_qualified(database, table.name)} {on_cluster}"
        f" AS {_qualified(database, local)}\n"
        f"ENGINE = Distributed({quote_literal(cluster)}, {quote_literal(database)}, {quote_literal(local)}, "
        f"{sharding_key(table)})"
    )
    return create_local, create_distributed


def alter_statements(alter: AlterTable, cluster: str, database: str) -> tuple[str, ...]:
    """Every clause on the local table; column changes also on the Distributed table."""
    on_cluster = _on_cluster(cluster)
    separator = ",\n    "
    statements = [
        f"ALTER TABLE {_qualified(database, local_name(alter.name))} {on_cluster}\n    {separator.join(alter.clauses)}"
    ]
    columns = [clause for clause in alter.clauses if _COLUMN_CLAUSE.match(_blank(clause))]
    if columns:
        statements.append(f"ALTER TABLE {_qualified(database, alter.name)} {on_cluster}\n    {separator.join(columns)}")
    return tuple(statements)


def cluster_statements(statements: Iterable[str], cluster: str, database: str) -> tuple[str, ...]:
    """The cluster form of a migration's statements, in order."""
    out: list[str] = []
    for statement in statements:
        masked = _blank(statement)
        if _CREATE.match(masked):
            out.extend(create_statements(parse_create(statement), cluster, database))
        elif _ALTER.match(masked):
            out.extend(alter_statements(parse_alter(statement), cluster, database))
        else:
            raise ClusterDDLError(
                "no cluster form for this statement (stream/store/cluster.py knows CREATE TABLE and "
                f"ALTER TABLE): {_first_line(statement)}"
            )
    return tuple(out)


def created_tables(statements: Iterable[str]) -> list[str]:
    """Names of the tables these (single-node) statements create."""
    return [parse_create(s).name for s in statements if _CREATE.match(_blank(s))]
