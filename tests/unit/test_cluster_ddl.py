"""The cluster form of the migrations (stream/store/cluster.py) and ``costream migrate --cluster``.

chDB has no cluster, no Keeper and cannot run ``ON CLUSTER`` DDL, so the generated DDL is
checked three ways: as text, against every real migration file; by ClickHouse's own parser
(``formatQuery``), so a syntax error fails here; and executed, without the ``ON CLUSTER``
clause, in a chDB child process configured (``config.xml`` in its working directory) with a
one-shard cluster, the shard/replica macros and an in-memory test Keeper. There the
Replicated and Distributed tables are created exactly as generated; and, with the
Replicated engines swapped for their plain variants (a replica stays read-only in chDB, which
runs no replication queue), the project's own writes and queries (the sink, windows,
rollups, budget spend, the reader connection) run unchanged through the Distributed tables.

A child process, because a chDB process holds one data path and one configuration, and a
replicated table keeps chDB from shutting down cleanly: the child prints a JSON report and
exits without the shutdown.
"""

import asyncio
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from stream.cli.main import main
from stream.store.cluster import (
    ClusterDDLError,
    cluster_statements,
    parse_alter,
    parse_create,
    sharding_key,
)
from stream.store.migrate import (
    BOOKKEEPING,
    DATA_STEPS,
    MigrationError,
    available_migrations,
    check_cluster,
    check_layout,
    cluster_script,
    deployed_cluster,
    migrate,
)

REPO = Path(__file__).resolve().parents[2]
MIGRATIONS = available_migrations()
CLUSTER, DATABASE = "costream", "costream"

# The decision for each current table (see stream.store.cluster.sharding_key): by tenant where
# the sorting key holds tenant_id, otherwise by the whole sorting key.
EXPECTED_SHARDING = {
    "usage_events": "cityHash64(tenant_id)",
    "usage_windows": "cityHash64(tenant_id)",
    "usage_rollup_hour": "cityHash64(tenant_id)",
    "usage_rollup_day": "cityHash64(tenant_id)",
    "dead_letters": "cityHash64(topic, partition, offset, batch_index)",
    "window_passes": "cityHash64(consumer_group, partition)",
    "schema_migrations": "cityHash64(version)",
    "event_ids": "cityHash64(tenant_id)",
    "duplicate_events": "cityHash64(tenant_id)",
    "worker_state": "cityHash64(consumer_group, partition)",
    "budget_breaches": "cityHash64(tenant_id)",
    "reprice_runs": "cityHash64(tenant_id)",
}

_CREATE_HEAD = re.compile(r"^CREATE TABLE IF NOT EXISTS (\w+)\s*$")
_ENGINE_LINE = re.compile(r"^ENGINE = (\w+)(?:\((.*)\))?$")
_ORDER_BY_LINE = re.compile(r"^ORDER BY \(?(.*?)\)?$")


def _creates(statements: tuple[str, ...]) -> list[str]:
    return [s for s in statements if s.startswith("CREATE TABLE")]


def _alters(statements: tuple[str, ...]) -> list[str]:
    return [s for s in statements if s.startswith("ALTER TABLE")]


# --- the transformation, against every real migration file ------------------------------------
@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda m: f"{m.version:04d}_{m.name}")
def test_every_create_becomes_a_replicated_local_table_and_a_distributed_table(migration: Any) -> None:
    generated = cluster_statements(migration.statements, CLUSTER, DATABASE)
    expected_count = 2 * len(_creates(migration.statements)) + sum(
        1 + bool(re.search(r"\bADD COLUMN\b", s)) for s in _alters(migration.statements)
    )
    assert len(generated) == expected_count
    for statement in _creates(migration.statements):
        lines = statement.rstrip(";").splitlines()
        head = _CREATE_HEAD.match(lines[0])
        assert head, lines[0]
        name = head.group(1)
        engine_line = next(line for line in lines if line.startswith("ENGINE = "))
        engine = _ENGINE_LINE.match(engine_line)
        assert engine, engine_line
        local = next(s for s in generated if s.startswith(f"CREATE TABLE IF NOT EXISTS costream.{name}_local "))
        distributed = next(s for s in generated if s.startswith(f"CREATE TABLE IF NOT EXISTS costream.{name} "))
        assert generated.index(local) < generated.index(distributed)

        assert local.splitlines()[0] == f"CREATE TABLE IF NOT EXISTS costream.{name}_local ON CLUSTER costream"
        arguments = f", {engine.group(2)}" if engine.group(2) else ""
        assert (
            f"ENGINE = Replicated{engine.group(1)}('/clickhouse/tables/{{shard}}/{{database}}/{name}_local', "
            f"'{{replica}}'{arguments})"
        ) in local.splitlines()
        # columns, PARTITION BY, ORDER BY and SETTINGS are kept as written, in order
        kept = [line for line in lines[1:] if line != engine_line]
        local_lines = local.splitlines()
        positions = [local_lines.index(line) for line in kept]
        assert positions == sorted(positions)

        order_by = next(line for line in lines if line.startswith("ORDER BY "))
        sort_key = [part.strip() for part in _ORDER_BY_LINE.match(order_by).group(1).split(",")]  # type: ignore[union-attr]
        assert distributed == (
            f"CREATE TABLE IF NOT EXISTS costream.{name} ON CLUSTER costream AS costream.{name}_local\n"
            f"ENGINE = Distributed('costream', 'costream', '{name}_local', {EXPECTED_SHARDING[name]})"
        )
        key_columns = re.findall(r"\w+", EXPECTED_SHARDING[name].removeprefix("cityHash64"))
        assert set(key_columns) <= set(sort_key), "duplicates must land on one shard: shard by the sorting key"


@pytest.mark.parametrize("migration", MIGRATIONS, ids=lambda m: f"{m.version:04d}_{m.name}")
def test_every_alter_goes_to_the_local_tables_and_columns_also_to_the_distributed_ones(migration: Any) -> None:
    generated = cluster_statements(migration.statements, CLUSTER, DATABASE)
    for statement in _alters(migration.statements):
        name, rest = re.match(r"^ALTER TABLE (\w+)\s+(.*)$", statement.rstrip(";"), re.S).groups()  # type: ignore[union-attr]
        clauses = [c.strip() for c in re.split(r",\s*\n", rest)]
        local = next(s for s in generated if s.startswith(f"ALTER TABLE costream.{name}_local ON CLUSTER costream\n"))
        assert [line.strip().rstrip(",") for line in local.splitlines()[1:]] == clauses
        distributed = [s for s in generated if s.startswith(f"ALTER TABLE costream.{name} ON CLUSTER costream\n")]
        column_clauses = [c for c in clauses if re.match(r"^ADD COLUMN\b", c)]
        if column_clauses:
            assert [line.strip().rstrip(",") for line in distributed[0].splitlines()[1:]] == column_clauses
        else:
            assert distributed == []  # a skip index exists on the local tables only
    if migration.version == 3:
        assert generated == (
            "ALTER TABLE costream.usage_events_local ON CLUSTER costream\n"
            "    ADD INDEX IF NOT EXISTS ingested_at_minmax ingested_at TYPE minmax GRANULARITY 4",
        )


def test_every_table_of_the_schema_has_a_decided_sharding_key() -> None:
    tables = {parse_create(s).name for m in MIGRATIONS for s in _creates(m.statements)} | {"schema_migrations"}
    assert tables == set(EXPECTED_SHARDING)


def test_the_bookkeeping_table_is_replicated_and_distributed_too() -> None:
    local, distributed = cluster_statements([BOOKKEEPING], CLUSTER, DATABASE)
    assert local.startswith("CREATE TABLE IF NOT EXISTS costream.schema_migrations_local ON CLUSTER costream\n")
    assert ("ENGINE = ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/{database}/schema_migrations_local', "
            "'{replica}')") in local
    assert local.endswith("ORDER BY version")
    assert distributed.endswith("Distributed('costream', 'costream', 'schema_migrations_local', cityHash64(version))")


# --- the parser on shapes the current files do not have -------------------------------------
def test_quotes_comments_and_settings_do_not_confuse_the_parser() -> None:
    statement = """CREATE TABLE IF NOT EXISTS t  -- a comment with ) and ORDER BY x
    (
        `tenant_id` String COMMENT 'who, (pays)',
        n UInt64 DEFAULT 1, /* ( */
        INDEX n_idx n TYPE minmax GRANULARITY 1
    )
    ENGINE = MergeTree
    ORDER BY (tenant_id, n)
    SETTINGS index_granularity = 8192;"""
    table = parse_create(statement)
    assert (table.name, table.engine, table.engine_args) == ("t", "MergeTree", None)
    assert table.column_types() == {"tenant_id": "String COMMENT 'who, (pays)'", "n": "UInt64 DEFAULT 1"}
    assert table.sorting_key() == ["tenant_id", "n"]
    assert sharding_key(table) == "cityHash64(tenant_id)"
    local, distributed = cluster_statements([statement], "c", "db")
    assert distributed.endswith("Distributed('c', 'db', 't_local', cityHash64(tenant_id))")
    assert "ENGINE = ReplicatedMergeTree('/clickhouse/tables/{shard}/{database}/t_local', '{replica}')\n" in local
    assert local.endswith("ORDER BY (tenant_id, n)\n    SETTINGS index_granularity = 8192")
    assert "INDEX n_idx n TYPE minmax GRANULARITY 1" in local


def test_a_nullable_or_absent_tenant_shards_by_the_whole_sorting_key() -> None:
    nullable = parse_create("CREATE TABLE x (tenant_id Nullable(String), k UInt8) ENGINE = MergeTree ORDER BY k")
    assert sharding_key(nullable) == "cityHash64(k)"
    not_in_key = parse_create("CREATE TABLE x (tenant_id String, k UInt8) ENGINE = MergeTree ORDER BY (k)")
    assert sharding_key(not_in_key) == "cityHash64(k)"


@pytest.mark.parametrize("statement, reason", [
    ("INSERT INTO usage_events SELECT 1", "no cluster form"),
    ("CREATE MATERIALIZED VIEW v TO t AS SELECT 1", "no cluster form"),
    ("DROP TABLE usage_events", "no cluster form"),
    ("CREATE TABLE t (a UInt8) ENGINE = Memory", "has no replicated variant"),
    ("CREATE TABLE t (a UInt8) ENGINE = MergeTree ORDER BY tuple()", "no ORDER BY key"),
    ("CREATE TABLE t (a UInt8) ENGINE = ReplicatedMergeTree('/p', 'r') ORDER BY a", "already"),
    ("ALTER TABLE t ON CLUSTER c ADD COLUMN b UInt8", "already names a cluster"),
])  # fmt: skip
def test_statements_without_a_cluster_form_are_refused(statement: str, reason: str) -> None:
    with pytest.raises(ClusterDDLError, match=reason):
        cluster_statements([statement], CLUSTER, DATABASE)


def test_names_that_are_not_plain_identifiers_are_quoted() -> None:
    [alter] = cluster_statements(["ALTER TABLE t ADD INDEX i a TYPE minmax"], "prod-eu.1", "cost-db")
    assert alter.startswith("ALTER TABLE `cost-db`.t_local ON CLUSTER 'prod-eu.1'\n")
    assert parse_alter("ALTER TABLE `odd name` DROP COLUMN a").name == "odd name"
    with pytest.raises(ClusterDDLError, match="not a cluster name"):
        cluster_statements(["ALTER TABLE t DROP COLUMN a"], "x' OR 1", "db")


# --- layout and cluster checks of `migrate` -----------------------------------------------------
class _Result:
    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.result_rows = rows


class FakeServer:
    """Answers the few queries migrate sends to a ClickHouse server; records every command."""

    embedded = False
    dsn = "http://costream:secret@ch-1:8123/costream"

    def __init__(self, tables: dict[str, tuple[str, str]], clusters: tuple[str, ...] = ("costream",),
                 keeper: Exception | None = None, macros: tuple[str, ...] = ("shard", "replica"),
                 applied: tuple[int, ...] = ()) -> None:  # fmt: skip
        self.tables, self.clusters, self.keeper, self.macros = tables, clusters, keeper, macros
        self.applied = list(applied)
        self.commands: list[str] = []

    def query_sync(self, sql: str, parameters: dict[str, Any] | None = None) -> _Result:
        if sql.startswith("SELECT name, engine, engine_full FROM system.tables"):
            return _Result([(name, *engine) for name, engine in self.tables.items()])
        if sql.startswith("SELECT count() FROM system.clusters"):
            return _Result([(int(parameters is not None and parameters["cluster"] in self.clusters),)])
        if sql.startswith("SELECT DISTINCT cluster"):
            return _Result([(c,) for c in self.clusters])
        if "system.zookeeper" in sql:
            if self.keeper:
                raise self.keeper
            return _Result([(3,)])
        if sql.startswith("SELECT macro FROM system.macros"):
            return _Result([(m,) for m in self.macros])
        if sql == "SELECT currentDatabase()":
            return _Result([("costream",)])
        if sql.startswith("SELECT version FROM schema_migrations FINAL"):
            return _Result([(v,) for v in self.applied])
        raise AssertionError(f"unexpected query {sql}")

    def command_sync(self, sql: str, parameters: dict[str, Any] | None = None) -> None:
        self.commands.append(sql)
        if sql.startswith("INSERT INTO schema_migrations") and parameters:
            self.applied.append(parameters["version"])


DISTRIBUTED_BOOKKEEPING = {
    "schema_migrations": ("Distributed", "Distributed('costream', 'costream', 'schema_migrations_local', "
                                         "cityHash64(version))"),
}  # fmt: skip


def test_the_cluster_a_database_was_migrated_for_is_read_from_its_bookkeeping_table() -> None:
    assert deployed_cluster(DISTRIBUTED_BOOKKEEPING) == "costream"
    assert deployed_cluster({"schema_migrations": ("Distributed", "Distributed(prod_eu, db, t, rand())")}) == "prod_eu"
    single_node = {"schema_migrations": ("ReplacingMergeTree", "ReplacingMergeTree ORDER BY version")}
    assert deployed_cluster(single_node) is None
    assert deployed_cluster({}) is None


def test_a_missing_cluster_keeper_or_macro_is_one_clear_error() -> None:
    with pytest.raises(MigrationError, match=r"cluster 'costream' is not in system.clusters at ch-1:8123/costream "
                                             r"\(known: default\)") as missing:
        check_cluster(FakeServer({}, clusters=("default",)), "costream")  # type: ignore[arg-type]
    assert "<remote_servers>" in (missing.value.hint or "")
    unknown_table = RuntimeError("Code: 60. DB::Exception: Unknown table expression identifier 'system.zookeeper'"
                                 ". (UNKNOWN_TABLE)\nstack trace line")
    with pytest.raises(MigrationError, match=r"^no Keeper/ZooKeeper configured at ch-1:8123/costream$") as keeper:
        check_cluster(FakeServer({}, keeper=unknown_table), "costream")  # type: ignore[arg-type]
    assert "<keeper_server>" in (keeper.value.hint or "")
    lost = RuntimeError("Code: 999. Coordination::Exception: Connection loss. (KEEPER_EXCEPTION)")
    with pytest.raises(MigrationError, match=r"Keeper/ZooKeeper does not answer at ch-1:8123/costream: .*loss"):
        check_cluster(FakeServer({}, keeper=lost), "costream")  # type: ignore[arg-type]
    with pytest.raises(MigrationError, match=r"macro\(s\) \{replica\} not defined"):
        check_cluster(FakeServer({}, macros=("shard",)), "costream")  # type: ignore[arg-type]
    assert "secret" not in str(missing.value) + str(keeper.value)


def test_cluster_ddl_on_a_single_node_schema_or_for_another_cluster_is_refused() -> None:
    with pytest.raises(MigrationError, match="usage_events already exists in this database as a single-node "
                                             "ReplacingMergeTree table"):
        check_layout("costream", {"usage_events": ("ReplacingMergeTree", "")})
    with pytest.raises(MigrationError, match="migrated for cluster 'costream', not 'other'"):
        check_layout("other", DISTRIBUTED_BOOKKEEPING)
    check_layout("costream", {**DISTRIBUTED_BOOKKEEPING, "usage_events": ("Distributed", "Distributed(...)")})


def test_migrate_on_a_fresh_database_creates_everything_on_the_cluster_in_order() -> None:
    server = FakeServer({})
    applied = migrate(server, "costream")  # type: ignore[arg-type]
    assert [m.version for m in applied] == [m.version for m in MIGRATIONS]
    ddl = [c for c in server.commands if not c.startswith("INSERT")]
    expected = [s for _, statements in cluster_script("costream", "costream") for s in statements
                if not s.startswith("INSERT")]  # fmt: skip
    assert ddl == expected
    assert all(" ON CLUSTER costream" in c for c in ddl)
    records = [c for c in server.commands if c.startswith("INSERT INTO schema_migrations")]
    assert len(records) == len(MIGRATIONS) and all("insert_distributed_sync = 1" in r for r in records)


def test_plain_migrate_on_a_cluster_database_keeps_the_cluster_layout() -> None:
    latest = MIGRATIONS[-1]
    server = FakeServer(dict(DISTRIBUTED_BOOKKEEPING), applied=tuple(m.version for m in MIGRATIONS[:-1]))
    assert migrate(server) == [latest]  # type: ignore[arg-type]
    ddl = [c for c in server.commands[:-1] if c not in DATA_STEPS.values()]
    assert ddl == list(cluster_statements(latest.statements, "costream", "costream"))
    # up to date: no DDL is queued on the cluster at all (a worker's start does not wait for every host)
    server.commands.clear()
    assert migrate(server) == []  # type: ignore[arg-type]
    assert server.commands == []


def test_migrate_refuses_cluster_ddl_on_the_embedded_store() -> None:
    class Embedded(FakeServer):
        embedded = True

    with pytest.raises(MigrationError, match="needs a ClickHouse server"):
        migrate(Embedded({}), "costream")  # type: ignore[arg-type]


# --- the command ------------------------------------------------------------------------------
def _costream(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str],
              *args: str, url: str | None = None) -> tuple[int, str, str]:  # fmt: skip
    monkeypatch.chdir(tmp_path)
    for name in list(os.environ):
        if name.startswith("COSTREAM_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COSTREAM_DATA_DIR", str(tmp_path / "data"))
    if url:
        monkeypatch.setenv("COSTREAM_CLICKHOUSE_URL", url)
    code = main(["migrate", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_cluster_on_the_embedded_store_is_one_line_with_a_hint(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _costream(monkeypatch, tmp_path, capsys, "--cluster", "costream")
    assert code == 2 and out == ""
    assert err.startswith("error: --cluster needs a ClickHouse server; the store is embedded (chDB)\nhint: ")
    assert "Traceback" not in err
    assert not (tmp_path / "data").exists(), "nothing is opened"


def test_print_shows_the_whole_cluster_ddl_without_connecting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = _costream(monkeypatch, tmp_path, capsys, "--cluster", "costream", "--print",
                               url="http://costream:secret@127.0.0.1:9/analytics")  # fmt: skip
    assert code == 0, err
    expected = "".join(
        f"-- {step}\n" + "".join(f"{statement};\n\n" for statement in statements)
        for step, statements in cluster_script("costream", "analytics")
    )
    assert out == expected
    distributed = "CREATE TABLE IF NOT EXISTS analytics.usage_events ON CLUSTER costream AS analytics.usage_events_"
    assert distributed in out
    assert "secret" not in out
    code, _, err = _costream(monkeypatch, tmp_path, capsys, "--print")
    assert code == 2 and err.startswith("error: --print goes with --cluster NAME\n")


# --- ClickHouse itself: parse, create, and run the project's queries (chDB child) ---------------
CHDB_CLUSTER_CONFIG = """<clickhouse>
    <tcp_port>9000</tcp_port>
    <zookeeper><implementation>testkeeper</implementation></zookeeper>
    <macros><shard>01</shard><replica>replica-1</replica></macros>
    <remote_servers>
        <costream>
            <shard>
                <internal_replication>true</internal_replication>
                <replica><host>localhost</host><port>9000</port></replica>
            </shard>
        </costream>
    </remote_servers>
</clickhouse>
"""


def without_on_cluster(statement: str) -> str:
    return re.sub(r" ON CLUSTER \S+", "", statement)


def without_replication(statement: str) -> str:
    """The plain engine instead of its Replicated variant (same arguments after path and replica)."""
    return re.sub(r"Replicated(\w*MergeTree)\('[^']*', '\{replica\}'(?:, )?", r"\1(", statement)


@pytest.fixture(scope="module")
def chdb_report(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    root = tmp_path_factory.mktemp("chdb-cluster")
    (root / "config.xml").write_text(CHDB_CLUSTER_CONFIG)
    child = subprocess.run(
        [sys.executable, "-c", "from tests.unit.test_cluster_ddl import chdb_child; chdb_child()", str(root / "data")],
        cwd=root, env={**os.environ, "PYTHONPATH": str(REPO)}, capture_output=True, text=True, timeout=300,
    )
    lines = [line for line in child.stdout.splitlines() if line.startswith("REPORT ")]
    assert lines, f"the chDB child reported nothing (exit {child.returncode}): {child.stderr[-3000:]}"
    yield json.loads(lines[-1].removeprefix("REPORT "))


def test_chdb_sees_the_configured_one_shard_cluster(chdb_report: dict[str, Any]) -> None:
    assert chdb_report["clusters"] == [["costream", 1]]


def test_clickhouse_parses_every_generated_statement(chdb_report: dict[str, Any]) -> None:
    assert chdb_report["parsed"] == len([s for _, group in cluster_script("costream", "costream_cluster")
                                          for s in group])  # fmt: skip
    assert chdb_report["parse_errors"] == {}
    assert all(" ON CLUSTER costream" in text for text in chdb_report["formatted_ddl"] if not text.startswith("INSERT"))


def test_replicated_and_distributed_tables_are_created_as_generated(chdb_report: dict[str, Any]) -> None:
    assert chdb_report["create_errors"] == {}
    replicas = {table: (path, replica) for table, path, replica in chdb_report["replicas"]}
    assert replicas == {
        f"{name}_local": (f"/clickhouse/tables/01/costream_cluster/{name}_local", "replica-1")
        for name in EXPECTED_SHARDING
    }
    tables = {name: rest for name, *rest in chdb_report["cluster_tables"]}
    single_node = {name: rest for name, *rest in chdb_report["single_node_tables"]}
    for name, key in EXPECTED_SHARDING.items():
        engine, engine_full, _, _ = tables[name]
        assert engine == "Distributed"
        assert engine_full == f"Distributed('costream', 'costream_cluster', '{name}_local', {key})"
        local_engine, _, partition_key, sorting_key = tables[f"{name}_local"]
        assert local_engine == "Replicated" + single_node[name][0]
        assert (partition_key, sorting_key) == (single_node[name][2], single_node[name][3])


def test_skip_indexes_and_new_columns_reach_the_local_and_distributed_tables(chdb_report: dict[str, Any]) -> None:
    assert chdb_report["node_errors"] == {}
    assert ["usage_events_local", "ingested_at_minmax", "minmax"] in chdb_report["indexes"]
    assert not [index for index in chdb_report["indexes"] if index[0] == "usage_events"]
    columns = {tuple(c) for c in chdb_report["columns"]}
    for table in ("usage_events", "usage_events_local", "usage_windows", "usage_windows_local"):
        assert (table, "cache_savings") in columns
    assert chdb_report["column_lists_match"] is True


def test_the_projects_writes_and_queries_run_unchanged_through_distributed_tables(
    chdb_report: dict[str, Any]
) -> None:
    result = chdb_report["exercise"]
    assert result.get("error") is None, result.get("error")
    assert result["deployed_cluster"] == "costream"
    assert result["applied"] == [m.version for m in MIGRATIONS]
    assert result["rows"] == 7 and result["final"] == 5 and result["distinct"] == 5
    assert result["reader_count"] == 5
    assert result["dead_letters_final"] == 1
    expected = str(sum(Decimal(c) for c in EXERCISE_COSTS))
    assert result["events_cost"] == expected
    assert result["windows"] == {"cost": expected, "requests": 5}
    assert result["rollup_day_cost"] == expected
    assert result["spend"] == expected
    assert result["repeats_after_register"] == len(EXERCISE_COSTS)
    assert result["checkpoints"] == 1


# --- the child ---------------------------------------------------------------------------------
EXERCISE_TENANT = "cluster-t"
EXERCISE_COSTS = ("0.000000000000000001", "1.25", "2.5", "0.125", "10")


def _priced(event_id: str, occurred_at: datetime, total: Decimal, offset: int) -> Any:
    from schemas import CostBreakdown, EventAttributes, PricedUsageEvent, TokenUsage, TrackingType
    from stream.ingest.decode import SourceMessage
    from stream.ingest.records import PricedRecord

    event = PricedUsageEvent(
        event_id=event_id, tenant_id=EXERCISE_TENANT, occurred_at=occurred_at, ingested_at=datetime.now(UTC),
        provider="openai", api_flavor="chat", model="m", resolved_model="m", tokens=TokenUsage(input_tokens=7),
        token_cost=CostBreakdown(input=total, total=total), provider_cost_usd=None, total_cost=total,
        cost_drift_usd=None, tracking_type=TrackingType.TOKENS, priced=True, price_source=None,
        price_version=None, attributes=EventAttributes(feature="f"),
    )
    return PricedRecord(event, SourceMessage(b"", None, "raw", 0, offset))


async def _exercise(store: Any) -> dict[str, Any]:
    from schemas import DeadLetter
    from schemas.budgets import Budget
    from stream.budgets.registry import BudgetRegistry
    from stream.budgets.spend import period_spend
    from stream.dedup import EventIds
    from stream.sinks.clickhouse import ClickHouseSink
    from stream.state.held import StreamState, WindowSettings
    from stream.store.migrate import applied_versions, existing_tables

    out: dict[str, Any] = {}
    sink = ClickHouseSink(store)
    at = datetime.now(UTC).replace(second=0, microsecond=0) - timedelta(hours=2)
    records = [_priced(f"e{n}", at + timedelta(seconds=n), Decimal(c), n) for n, c in enumerate(EXERCISE_COSTS)]
    letter = DeadLetter(
        original_b64="bm90IGpzb24=", original_key_b64=None, topic="raw", partition=0, offset=99, batch_index=None,
        event_id=None, tenant_id=None, error_type="not_json", error="not JSON", dead_lettered_at=datetime.now(UTC),
    )
    await sink.store_batch(records, [letter])
    await sink.store_batch(records[:2], [letter])  # redelivered
    tenant = {"t": EXERCISE_TENANT}
    where = "WHERE tenant_id = {t:String}"

    def one(sql: str, reader: bool = False) -> Any:
        query = store.query_readonly_sync if reader else store.query_sync
        return query(sql, tenant).result_rows[0][0]

    out["rows"] = one(f"SELECT count() FROM usage_events {where}")
    out["final"] = one(f"SELECT count() FROM usage_events FINAL {where}")
    out["distinct"] = one(f"SELECT uniqExact(event_id) FROM usage_events {where}")
    out["reader_count"] = one(f"SELECT count() FROM usage_events {where}", reader=True)  # `final` is set
    out["events_cost"] = str(one(f"SELECT sum(total_cost) FROM usage_events FINAL {where}"))
    out["dead_letters_final"] = store.query_sync("SELECT count() FROM dead_letters FINAL").result_rows[0][0]

    async def publish(aggregates: list[Any]) -> None:
        return None

    ids = EventIds(sink)
    first = await ids.split(records)
    await ids.register(first)
    out["repeats_after_register"] = (await ids.split(records)).repeated
    settings = WindowSettings(60, timedelta(minutes=5), ["feature"], 200, "cluster-group")
    state = StreamState(settings, sink, BudgetRegistry([]), publish)
    await state.apply(first.new)
    await state.emit()
    await state.checkpoint(0.0, force=True)
    windows = store.query_sync(
        f"SELECT sum(total_cost), sum(requests) FROM usage_windows FINAL {where}", tenant
    ).result_rows[0]
    out["windows"] = {"cost": str(windows[0]), "requests": windows[1]}
    out["rollup_day_cost"] = str(store.query_sync(
        f"SELECT sum(total_cost) FROM usage_rollup_day FINAL {where}", tenant).result_rows[0][0])
    out["checkpoints"] = store.query_sync(
        "SELECT count() FROM worker_state FINAL WHERE consumer_group = 'cluster-group'").result_rows[0][0]
    budget = Budget(id="b", tenant_id=EXERCISE_TENANT, period="day", limit_usd=Decimal(100))
    spend = await period_spend(store, budget, at - timedelta(days=1), at + timedelta(days=1))
    out["spend"] = str(spend.spend)
    out["applied"] = sorted(applied_versions(store))
    out["deployed_cluster"] = deployed_cluster(existing_tables(store))
    return out


def chdb_child() -> None:
    """Run in a child process whose working directory holds CHDB_CLUSTER_CONFIG as config.xml."""
    from stream.store.client import ClickHouseStore

    report: dict[str, Any] = {}
    store = ClickHouseStore(f"chdb://{sys.argv[1]}")

    def rows(sql: str) -> list[list[Any]]:
        return [list(row) for row in store.query_sync(sql).result_rows]

    def run_all(statements: list[str], errors: dict[str, str]) -> None:
        for statement in statements:
            try:
                store.command_sync(statement)
            except Exception as exc:
                errors[statement.splitlines()[0]] = str(exc).splitlines()[0]

    try:
        report["clusters"] = rows("SELECT cluster, is_local FROM system.clusters ORDER BY cluster")
        ddl = [s for _, group in cluster_script("costream", "costream_cluster") for s in group]
        report["parse_errors"], report["formatted_ddl"] = {}, []
        for statement in ddl:
            try:
                formatted = store.query_sync("SELECT formatQuery({q:String})", {"q": statement}).result_rows[0][0]
                report["formatted_ddl"].append(formatted)
            except Exception as exc:
                report["parse_errors"][statement.splitlines()[0]] = str(exc).splitlines()[0]
        report["parsed"] = len(report["formatted_ddl"])

        # single node, for comparison, in its own database
        store.command_sync("CREATE DATABASE single_node")
        single = [s.replace("IF NOT EXISTS ", "IF NOT EXISTS single_node.", 1) for m in MIGRATIONS
                  for s in (BOOKKEEPING, *m.statements) if s.startswith("CREATE")]  # fmt: skip
        run_all(single, {})
        report["single_node_tables"] = rows(
            "SELECT name, engine, engine_full, partition_key, sorting_key FROM system.tables "
            "WHERE database = 'single_node'")

        # the cluster form as generated (CREATEs: a replica stays read-only here, so no ALTER)
        store.command_sync("CREATE DATABASE costream_cluster")
        report["create_errors"] = {}
        run_all([without_on_cluster(s) for s in ddl if s.startswith("CREATE")], report["create_errors"])
        report["replicas"] = rows(
            "SELECT table, zookeeper_path, replica_name FROM system.replicas WHERE database = 'costream_cluster'")
        report["cluster_tables"] = rows(
            "SELECT name, engine, engine_full, partition_key, sorting_key FROM system.tables "
            "WHERE database = 'costream_cluster'")

        # everything, ALTERs and bookkeeping rows included, with plain engines, in `default`
        report["node_errors"] = {}
        node = [without_replication(without_on_cluster(s)) for _, group in cluster_script("costream", "default")
                for s in group]  # fmt: skip
        run_all(node, report["node_errors"])
        report["indexes"] = rows("SELECT table, name, type FROM system.data_skipping_indices "
                                 "WHERE database = 'default' ORDER BY table, name")
        report["columns"] = rows("SELECT table, name FROM system.columns WHERE database = 'default'")
        by_table: dict[str, list[str]] = {}
        for table, name in report["columns"]:
            by_table.setdefault(table, []).append(name)
        report["column_lists_match"] = all(
            by_table[name] == by_table[f"{name}_local"] for name in EXPECTED_SHARDING
        )
        try:
            report["exercise"] = asyncio.run(_exercise(store))
        except Exception as exc:
            report["exercise"] = {"error": f"{type(exc).__name__}: {exc}"}
    except Exception as exc:
        report["error"] = f"{type(exc).__name__}: {exc}"
    print("REPORT " + json.dumps(report, default=str), flush=True)
    os._exit(0)  # a replicated table keeps chDB from shutting down: skip the shutdown
