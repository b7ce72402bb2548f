"""Versioned, idempotent schema migrations.

Migrations are the ``NNNN_name.sql`` files next to this module, applied in order; the
versions applied are recorded in ``schema_migrations``. Running it again applies nothing.
Each statement is also written to be idempotent (``IF NOT EXISTS``), so a migration that
was interrupted half way can be re-run safely.
"""

import re
from dataclasses import dataclass
from importlib import resources

from stream.store.client import ClickHouseStore

_MIGRATION_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    statements: tuple[str, ...]


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


def applied_versions(store: ClickHouseStore) -> set[int]:
    store.command_sync(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version UInt32, name String, applied_at DateTime64(3, 'UTC') DEFAULT now64(3)) "
        "ENGINE = ReplacingMergeTree ORDER BY version"
    )
    return {row[0] for row in store.query_sync("SELECT version FROM schema_migrations FINAL").result_rows}


def migrate(store: ClickHouseStore) -> list[Migration]:
    """Apply every migration not yet applied; returns those applied now."""
    done = applied_versions(store)
    applied = []
    for migration in available_migrations():
        if migration.version in done:
            continue
        for statement in migration.statements:
            store.command_sync(statement.rstrip(";"))
        store.command_sync(
            "INSERT INTO schema_migrations (version, name) VALUES ({version:UInt32}, {name:String})",
            {"version": migration.version, "name": migration.name},
        )
        applied.append(migration)
    return applied
