"""The same end-to-end flow on Apache Kafka and a ClickHouse server (testcontainers).

Skipped, with the reason, where no Docker engine answers (as on machines without one).
"""

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import test_ingest_e2e
from tests.stack import Stack

pytestmark = pytest.mark.docker


def docker_unavailable_reason() -> str | None:
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception as exc:
        return f"no Docker engine answers ({type(exc).__name__}: {str(exc)[:120]})"
    return None


@pytest.fixture(scope="module")
def server_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    reason = docker_unavailable_reason()
    if reason:
        pytest.skip(reason)
    from testcontainers.clickhouse import ClickHouseContainer
    from testcontainers.kafka import KafkaContainer

    with KafkaContainer("confluentinc/cp-kafka:7.6.1").with_kraft() as kafka, \
            ClickHouseContainer("clickhouse/clickhouse-server:24.8") as clickhouse:
        url = (
            f"http://{clickhouse.username}:{clickhouse.password}@{clickhouse.get_container_host_ip()}:"
            f"{clickhouse.get_exposed_port(8123)}/{clickhouse.dbname}"
        )
        root: Path = tmp_path_factory.mktemp("server-stack")
        stack = Stack(root, bootstrap_servers=kafka.get_bootstrap_server(), clickhouse_url=url)
        migrate = stack.env.copy()
        import subprocess
        import sys

        subprocess.run([sys.executable, "-m", "stream.cli.main", "migrate"], env=migrate, check=True)
        stack.start()
        try:
            yield stack
        finally:
            stack.close()


def test_end_to_end_on_kafka_and_clickhouse_server(server_stack: Stack) -> None:
    test_ingest_e2e.test_valid_rows_invalid_dead_letters_and_replay_changes_nothing(server_stack)
