"""``costream migrate --cluster`` on a ClickHouse server configured as a one-shard cluster
with an embedded Keeper (tests/docker/clickhouse/cluster.xml), then the worker end to end
on the replicated and Distributed tables, with the embedded suite's own assertions."""

import uuid

import pytest

from stream.store.cluster import local_name
from stream.store.migrate import available_migrations, migration_tables
from tests.docker.servers import CLUSTER, Servers, ServerStack, create_database

# modules, not functions: imported test functions would be collected here a second time
from tests.integration import test_budgets_e2e, test_ingest_e2e, test_windows_e2e

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_cluster_schema_then_the_worker_end_to_end(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> None:
    nonce = uuid.uuid4().hex[:8]
    database = f"cluster_{nonce}"
    create_database(servers, database, cluster=CLUSTER)
    stack = ServerStack(tmp_path_factory.mktemp("cluster-stack"), servers, database, namespace=f"cluster-{nonce}")

    printed = stack.migrate("--cluster", CLUSTER, "--print").stdout
    assert f"CREATE TABLE IF NOT EXISTS {database}.usage_events_local ON CLUSTER {CLUSTER}" in printed
    assert f"ENGINE = Distributed('{CLUSTER}', '{database}', 'usage_events_local', cityHash64(tenant_id))" in printed
    assert stack.rows("SELECT count() FROM system.tables WHERE database = currentDatabase()") == [(0,)]

    applied = stack.migrate("--cluster", CLUSTER).stdout
    versions = [f"{m.version:04d}_{m.name}" for m in available_migrations()]
    assert f"applied on cluster '{CLUSTER}': " + ", ".join(versions) in " ".join(applied.split())

    engines = dict(stack.rows("SELECT name, engine FROM system.tables WHERE database = currentDatabase()"))
    for table in migration_tables():
        assert engines[table] == "Distributed", table
        assert engines[local_name(table)].startswith("Replicated"), table
    replicas = stack.rows(
        "SELECT table, is_readonly, replica_name FROM system.replicas WHERE database = currentDatabase() ORDER BY table"
    )
    assert replicas == sorted((local_name(table), 0, "costream-1") for table in migration_tables())
    assert stack.rows(
        "SELECT table, name FROM system.data_skipping_indices WHERE database = currentDatabase()"
    ) == [("usage_events_local", "ingested_at_minmax")]
    columns = {row for row in stack.rows(
        "SELECT table, name FROM system.columns WHERE database = currentDatabase() AND name = 'cache_savings'")}
    assert {("usage_events", "cache_savings"), ("usage_events_local", "cache_savings")} <= columns
    assert stack.rows("SELECT version FROM schema_migrations FINAL ORDER BY version") == [
        (m.version,) for m in available_migrations()
    ]

    # again, with or without --cluster: the database keeps its layout and nothing is applied
    assert "schema is up to date" in stack.migrate("--cluster", CLUSTER).stdout
    assert "schema is up to date" in stack.migrate().stdout
    status = stack.migrate("--status").stdout
    assert all(f"{version}  applied" in status for version in versions)

    # mistakes are one line and a hint, never a traceback
    def refused(target: ServerStack, *args: str) -> str:
        result = target.costream("migrate", *args)
        assert result.returncode == 2, result.stdout
        assert "hint: " in result.stderr and "Traceback" not in result.stderr, result.stderr
        return " ".join(result.stderr.split())  # rich wraps long lines

    assert f"error: this database was migrated for cluster '{CLUSTER}', not 'nosuch'" in refused(
        stack, "--cluster", "nosuch")
    single = f"single_{nonce}"
    create_database(servers, single)
    single_node = ServerStack(tmp_path_factory.mktemp("single-node"), servers, single)
    assert "error: cluster 'nosuch' is not in system.clusters" in refused(single_node, "--cluster", "nosuch")
    single_node.migrate()
    assert "error: usage_events already exists in this database as a single-node ReplacingMergeTree table" in (
        refused(single_node, "--cluster", CLUSTER))

    # the worker on the cluster schema: the embedded suite's end-to-end, windows and budget checks
    stack.start()
    try:
        test_ingest_e2e.test_valid_rows_invalid_dead_letters_and_replay_changes_nothing(stack)
        test_windows_e2e.test_window_totals_equal_event_totals_through_disorder_duplicates_and_a_crash(stack)
        test_budgets_e2e.test_thresholds_fire_once_in_order_through_crash_replay_and_limit_change(stack)
        [(rows,)] = stack.rows("SELECT count() FROM usage_events_local")
        assert rows > 0, "rows are stored in the replicated local table behind the Distributed one"
    finally:
        stack.close()
