"""Apache Kafka and a ClickHouse server in containers (testcontainers), and the test stack on them.

One Kafka (KRaft) and one ClickHouse server serve the whole session. The ClickHouse server
also runs an embedded Keeper and defines a one-shard cluster ``costream`` (see
``clickhouse/*.xml``), so the same container holds single-node databases and a database
laid out for the cluster. Stacks that share the containers keep apart by database, and by
topic names and consumer group (``namespace``).
"""

import functools
import os
import subprocess
import sys
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stream.config import load_settings
from tests.stack import Stack, wait_until

CONFIG = Path(__file__).parent / "clickhouse"
KAFKA_IMAGE = os.environ.get("COSTREAM_TEST_KAFKA_IMAGE", "confluentinc/cp-kafka:7.6.1")  # Apache Kafka 3.6
CLICKHOUSE_IMAGE = os.environ.get("COSTREAM_TEST_CLICKHOUSE_IMAGE", "clickhouse/clickhouse-server:24.8")
# The user the ClickHouse image creates; the same credentials are in clickhouse/cluster.xml.
CLICKHOUSE_USER = CLICKHOUSE_PASSWORD = "costream"
CLUSTER = "costream"
TOPICS = ("raw", "priced", "dlq", "aggregates", "breaches", "budget_status", "budget_definitions")


@functools.cache
def docker_unavailable_reason() -> str | None:
    try:
        import docker

        docker.from_env(timeout=5).ping()
    except Exception as exc:
        return f"no Docker engine answers ({type(exc).__name__}: {str(exc)[:120]})"
    return None


@dataclass(frozen=True)
class Servers:
    bootstrap_servers: str
    clickhouse_host: str
    clickhouse_port: int

    def clickhouse_url(self, database: str) -> str:
        return (f"http://{CLICKHOUSE_USER}:{CLICKHOUSE_PASSWORD}@{self.clickhouse_host}:{self.clickhouse_port}/"
                f"{database}")  # fmt: skip

    def client(self, database: str = "default") -> Any:
        import clickhouse_connect

        return clickhouse_connect.get_client(
            host=self.clickhouse_host, port=self.clickhouse_port, username=CLICKHOUSE_USER,
            password=CLICKHOUSE_PASSWORD, database=database,
        )

    def command(self, sql: str, database: str = "default") -> Any:
        client = self.client(database)
        try:
            return client.command(sql)
        finally:
            client.close()

    def rows(self, sql: str, database: str, **parameters: Any) -> list[tuple[Any, ...]]:
        client = self.client(database)
        try:
            return [tuple(row) for row in client.query(sql, parameters=parameters).result_rows]
        finally:
            client.close()

    def keeper_answers(self) -> bool:
        try:
            self.command("SELECT count() FROM system.zookeeper WHERE path = '/'")
        except Exception:
            return False
        return True


def start_servers(stack: ExitStack) -> Servers:
    """Start Kafka and ClickHouse; ``stack`` stops them."""
    from testcontainers.clickhouse import ClickHouseContainer
    from testcontainers.kafka import KafkaContainer

    kafka = KafkaContainer(KAFKA_IMAGE).with_kraft()
    clickhouse = ClickHouseContainer(
        CLICKHOUSE_IMAGE, username=CLICKHOUSE_USER, password=CLICKHOUSE_PASSWORD, dbname="costream"
    )
    for source, target in (("cluster.xml", "config.d/costream-cluster.xml"), ("profile.xml", "users.d/costream.xml")):
        destination = f"/etc/clickhouse-server/{target}"
        if hasattr(clickhouse, "with_copy_into_container"):  # copied: works with a remote Docker engine too
            clickhouse.with_copy_into_container(CONFIG / source, destination)
        else:
            clickhouse.with_volume_mapping(str(CONFIG / source), destination, "ro")
    try:
        kafka.start(timeout=180)  # a cold KRaft start can outlast the default 30 s
    except BaseException:
        kafka.stop()
        raise
    stack.callback(kafka.stop)
    stack.enter_context(clickhouse)
    return Servers(
        bootstrap_servers=kafka.get_bootstrap_server(),
        clickhouse_host=clickhouse.get_container_host_ip(),
        clickhouse_port=int(clickhouse.get_exposed_port(8123)),
    )


class ServerStack(Stack):
    """The test stack on the containers: no embedded broker, no chDB.

    ``database`` is the ClickHouse database it uses (see :func:`create_database`); ``namespace``, if
    given, prefixes its topic names and is its consumer group, so stacks sharing the
    containers never read each other's messages. Two stacks with the same namespace and
    database are two workers of one deployment.
    """

    def __init__(self, root: Path, servers: Servers, database: str, namespace: str | None = None) -> None:
        root.mkdir(parents=True, exist_ok=True)
        super().__init__(root, bootstrap_servers=servers.bootstrap_servers,
                         clickhouse_url=servers.clickhouse_url(database))  # fmt: skip
        self.servers, self.database = servers, database
        if namespace is not None:
            topics = {f"topic_{name}": f"{namespace}.{getattr(self.settings, f'topic_{name}')}" for name in TOPICS}
            for field, value in topics.items():
                self.env[f"COSTREAM_{field.upper()}"] = value
            self.env["COSTREAM_CONSUMER_GROUP"] = namespace
            self.settings = load_settings(
                kafka_bootstrap_servers=servers.bootstrap_servers, topic_partitions=4, consumer_group=namespace,
                **topics,
            )

    def costream(self, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "stream.cli.main", *args], env=self.env,
                              capture_output=True, text=True, timeout=timeout)  # fmt: skip

    def migrate(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = self.costream("migrate", *args)
        assert result.returncode == 0, f"costream migrate {' '.join(args)} failed: {result.stderr}"
        return result

    def rows(self, sql: str, **parameters: Any) -> list[tuple[Any, ...]]:
        """Straight from ClickHouse (not through a worker), in this stack's database."""
        return self.servers.rows(sql, self.database, **parameters)


def create_database(servers: Servers, name: str, cluster: str | None = None) -> None:
    on_cluster = f" ON CLUSTER {cluster}" if cluster else ""
    if cluster:
        wait_until(servers.keeper_answers, 90, interval=1, what="ClickHouse's embedded Keeper")
    servers.command(f"CREATE DATABASE IF NOT EXISTS {name}{on_cluster}")
