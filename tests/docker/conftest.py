"""Fixtures of the Docker-backed suite: one Apache Kafka and one ClickHouse server per session.

``stack`` here overrides the embedded stack of tests/conftest.py for every test under
tests/docker, so the integration tests re-exposed here run their assertions against Kafka
and a ClickHouse server. Nothing starts at collection: the containers start with the first
test that needs them, and every such test is skipped, with the reason, where no Docker
engine answers.
"""

from collections.abc import Iterator
from contextlib import ExitStack

import pytest

from tests.docker.servers import Servers, ServerStack, create_database, docker_unavailable_reason, start_servers


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    reason = docker_unavailable_reason()
    if reason:
        pytest.skip(reason)
    with ExitStack() as containers:
        yield start_servers(containers)


@pytest.fixture(scope="session")
def stack(servers: Servers, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerStack]:
    """The worker on Kafka and a single-node ClickHouse database, default topic names."""
    create_database(servers, "costream")
    running = ServerStack(tmp_path_factory.mktemp("server-stack"), servers, database="costream")
    running.migrate()
    running.start()
    try:
        yield running
    finally:
        running.close()
