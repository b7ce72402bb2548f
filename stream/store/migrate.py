"""Versioned, idempotent schema migrations.

Migrations are the ``NNNN_name.sql`` files next to this module, applied in order; the
versions applied are recorded in ``schema_migrations``. Running it again applies nothing.
Each statement is also written to be idempotent (``IF NOT EXISTS``), so a migration that
was interrupted half way can be re-run safely.

On a cluster (``costream migrate --cluster NAME``) the same migrations are applied in their
cluster form (:mod:`stream.store.cluster`): replicated ``<table>_local`` tables and a
Distributed table under each original name, all ``ON CLUSTER``. ``schema_migrations`` gets
the same layout, so every node reads the same applied versions. A database remembers its
layout (its ``schema_migrations`` is then Distributed over the cluster): a later
``costream migrate`` without ``--cluster``, or a worker's start, applies pending migrations
in the cluster form too, never single-node tables on one node of a cluster.
"""

import re
from dataclasses import dataclass
from importlib import resources

from stream.reason import first_line
from stream.store.client import ClickHouseStore
from stream.store.cluster import CLUSTER_NAME, cluster_statements, created_tables, quote_identifier, quote_literal

_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_DISTRIBUTED_CLUSTER = re.compile(r"^Distributed\(\s*(?:'((?:[^'\\]|\\.)*)'|([A-Za-z0-9_.-]+))")

BOOKKEEPING_TABLE = "schema_migrations"
BOOKKEEPING = (
    "CREATE TABLE IF NOT EXISTS schema_migrations "
    "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
    "ENGINE = ReplacingMergeTree ORDER BY version"
)
_RECORD = "INSERT INTO schema_migrations (version, name) VALUES ({version:UInt32}, {name:String})"
# On a cluster the row goes through the Distributed table; sent in the foreground, so the
# next run (on any node) sees it even when its shard is another node.
_RECORD_ON_CLUSTER = (
    "INSERT INTO schema_migrations (version, name) SETTINGS insert_distributed_sync = 1 "
    "VALUES ({version:UInt32}, {name:String})"
)

# Data a migration's new tables need from the existing ones, run once right after its DDL
# (on a cluster through the Distributed tables, like any insert). Migration 5 registers the
# ids of events stored before deduplication by (tenant_id, event_id) existed, so a late
# retry of one of them is recognised.
DATA_STEPS: dict[int, str] = {
    5: (
        "INSERT INTO event_ids (tenant_id, event_id, occurred_at, kafka_partition, kafka_offset, ingested_at) "
        "SELECT tenant_id, event_id, min(occurred_at), any(kafka_partition), any(kafka_offset), "
        "min(ingested_at) FROM usage_events GROUP BY tenant_id, event_id"
    ),
}


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


class MigrationError(RuntimeError):
    """The schema cannot be migrated as asked: what is wrong, and how to fix it."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


def split_statements(sql: str) -> tuple[str, ...]:
    lines = [line for line in sql.splitlines() if not line.lstrip().startswith("--")]
    return tuple(part.strip() for part in "\n".join(lines).split(";\n") if part.strip().rstrip(";"))


def available_migrations() -> list[Migration]:
    folder = resources.files("stream.store") / "migrations"
    found = []
    for entry in folder.iterdir():
        if match := _MIGRATION_FILE.match(entry.name):
            found.append(
                Migration(int(match.group(1)), match.group(2), split_statements(entry.read_text("utf-8")))
            )
    return sorted(found, key=lambda migration: migration.version)


def migration_tables() -> list[str]:
    """Every table the migrations create, then the bookkeeping table."""
    names = [name for migration in available_migrations() for name in created_tables(migration.statements)]
    return [*names, BOOKKEEPING_TABLE]


# --- layout: single node or cluster -------------------------------------------------------------
def existing_tables(store: ClickHouseStore) -> dict[str, tuple[str, str]]:
    """name -> (engine, engine_full) of the tables of the current database."""
    rows = store.query_sync(
        "SELECT name, engine, engine_full FROM system.tables WHERE database = currentDatabase()"
    ).result_rows
    return {str(name): (str(engine), str(full)) for name, engine, full in rows}


def deployed_cluster(tables: dict[str, tuple[str, str]]) -> str | None:
    """The cluster this database was migrated for, if its bookkeeping table is Distributed."""
    engine, full = tables.get(BOOKKEEPING_TABLE, ("", ""))
    if engine != "Distributed":
        return None
    match = _DISTRIBUTED_CLUSTER.match(full)
    if match is None:
        return None
    return re.sub(r"\\(.)", r"\1", match.group(1)) if match.group(1) is not None else match.group(2)


def _where(store: ClickHouseStore) -> str:
    return store.dsn.split("@")[-1]  # never print credentials


def check_layout(cluster: str, tables: dict[str, tuple[str, str]]) -> None:
    """``--cluster`` on a database that holds single-node tables, or was migrated for another
    cluster, would leave a half-clustered schema: refuse."""
    deployed = deployed_cluster(tables)
    if deployed is not None and deployed != cluster:
        raise MigrationError(
            f"this database was migrated for cluster '{deployed}', not '{cluster}'",
            f"run costream migrate --cluster {deployed}, or point COSTREAM_CLICKHOUSE_URL at another database",
        )
    for name in migration_tables():
        engine = tables.get(name, ("", ""))[0]
        if engine and engine != "Distributed":
            raise MigrationError(
                f"{name} already exists in this database as a single-node {engine} table",
                "--cluster lays out a new database: create one ON CLUSTER, migrate it with --cluster, "
                "then copy the rows (INSERT INTO new.t SELECT * FROM old.t)",
            )


def check_cluster(store: ClickHouseStore, cluster: str) -> None:
    """The cluster exists, Keeper answers, and the replica macros are defined (on this node)."""
    where = _where(store)
    found = store.query_sync(
        "SELECT count() FROM system.clusters WHERE cluster = {cluster:String}", {"cluster": cluster}
    ).result_rows[0][0]
    if not found:
        known = sorted(row[0] for row in store.query_sync("SELECT DISTINCT cluster FROM system.clusters").result_rows)
        raise MigrationError(
            f"cluster '{cluster}' is not in system.clusters at {where}"
            + (f" (known: {', '.join(known)})" if known else " (no cluster is configured)"),
            "define it under <remote_servers> in the server configuration of every node (config.d), "
            "or name one that is",
        )
    try:
        store.query_sync("SELECT count() FROM system.zookeeper WHERE path = '/'")
    except Exception as exc:
        reason = first_line(exc, 200)
        unconfigured = "UNKNOWN_TABLE" in reason or "system.zookeeper" in reason
        raise MigrationError(
            f"no Keeper/ZooKeeper configured at {where}"
            if unconfigured else f"Keeper/ZooKeeper does not answer at {where}: {reason}",
            "replicated tables and ON CLUSTER DDL need <zookeeper> (or an embedded <keeper_server>) "
            "in the server configuration of every node",
        ) from None
    macros = {row[0] for row in store.query_sync("SELECT macro FROM system.macros").result_rows}
    if missing_macros := sorted({"shard", "replica"} - macros):
        raise MigrationError(
            f"macro(s) {', '.join('{' + m + '}' for m in missing_macros)} not defined at {where}",
            "replicated tables are named by <macros><shard>..</shard><replica>..</replica></macros>, "
            "unique per node, in the server configuration",
        )


# --- applying ---------------------------------------------------------------------------------
def cluster_script(cluster: str, database: str) -> list[tuple[str, tuple[str, ...]]]:
    """Every statement ``migrate --cluster`` would run on an empty database, by step: the
    bookkeeping table, then each migration (for review, or for operators to run by hand)."""
    steps = [(BOOKKEEPING_TABLE, cluster_statements([BOOKKEEPING], cluster, database))]
    for migration in available_migrations():
        record = (
            f"INSERT INTO {quote_identifier(database)}.{BOOKKEEPING_TABLE} (version, name) "
            f"SETTINGS insert_distributed_sync = 1 VALUES ({migration.version}, {quote_literal(migration.name)})"
        )
        statements = cluster_statements(migration.statements, cluster, database)
        steps.append((f"{migration.version:04d}_{migration.name}", (*statements, record)))
    return steps


def applied_versions(store: ClickHouseStore) -> set[int]:
    """Versions recorded as applied (none when the bookkeeping table does not exist yet)."""
    if BOOKKEEPING_TABLE not in existing_tables(store):
        return set()
    return {row[0] for row in store.query_sync("SELECT version FROM schema_migrations FINAL").result_rows}


def _run_on_cluster(store: ClickHouseStore, statement: str, cluster: str, step: str) -> None:
    try:
        store.command_sync(statement)
    except Exception as exc:
        reason = first_line(exc)
        raise MigrationError(
            f"{step} failed on cluster '{cluster}': {reason}",
            "fix the node named above and run costream migrate again (every statement is idempotent)",
        ) from None


def migrate(store: ClickHouseStore, cluster: str | None = None) -> list[Migration]:
    """Apply every migration not yet applied; returns those applied now.

    ``cluster``: lay the schema out for that cluster. Without it, a database already
    migrated for a cluster keeps that layout.
    """
    if cluster is not None and store.embedded:
        raise MigrationError(
            "--cluster needs a ClickHouse server; the store is embedded (chDB)",
            "set COSTREAM_CLICKHOUSE_URL=http://user:password@host:8123/database to a node of the cluster",
        )
    if cluster is not None and not CLUSTER_NAME.match(cluster):
        raise MigrationError(f"'{cluster}' is not a cluster name", "use the name under <remote_servers>")
    tables = existing_tables(store)
    if cluster is not None:
        check_layout(cluster, tables)
    else:
        cluster = deployed_cluster(tables)
    if cluster is None:
        store.command_sync(BOOKKEEPING)
        return _apply(store, None, "", applied_versions(store))

    database = str(store.query_sync("SELECT currentDatabase()").result_rows[0][0])
    done = applied_versions(store)
    pending = [m for m in available_migrations() if m.version not in done]
    if BOOKKEEPING_TABLE in tables and not pending:
        return []  # nothing to do: no DDL queued on the cluster, no wait for its hosts
    check_cluster(store, cluster)
    if BOOKKEEPING_TABLE not in tables:
        for statement in cluster_statements([BOOKKEEPING], cluster, database):
            _run_on_cluster(store, statement, cluster, BOOKKEEPING_TABLE)
    return _apply(store, cluster, database, done)


def _apply(store: ClickHouseStore, cluster: str | None, database: str, done: set[int]) -> list[Migration]:
    applied = []
    for migration in available_migrations():
        if migration.version in done:
            continue
        if cluster is None:
            for statement in migration.statements:
                store.command_sync(statement.rstrip(";"))
            if migration.version in DATA_STEPS:
                store.command_sync(DATA_STEPS[migration.version])
            store.command_sync(_RECORD, {"version": migration.version, "name": migration.name})
        else:
            step = f"{migration.version:04d}_{migration.name}"
            for statement in cluster_statements(migration.statements, cluster, database):
                _run_on_cluster(store, statement, cluster, step)
            if migration.version in DATA_STEPS:
                store.command_sync(DATA_STEPS[migration.version])  # the writer inserts in the foreground
            store.command_sync(_RECORD_ON_CLUSTER, {"version": migration.version, "name": migration.name})
        applied.append(migration)
    return applied
