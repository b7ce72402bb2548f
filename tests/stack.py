"""The real embedded stack for tests: a Tansu broker child, a ``costream worker`` child
process (Faust + chDB), and clients that talk to them over the wire.

One stack per test session; tests keep out of each other's way with their own tenant ids.
The worker runs as its own process so tests can kill and restart it like an operator would.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from aiokafka import AIOKafkaProducer

from schemas.limits import MAX_MESSAGE_BYTES
from stream.broker.embedded import EmbeddedBroker
from stream.broker.reader import read_topic
from stream.broker.topics import ensure_topics
from stream.config import load_settings
from stream.web.auth import digest, new_token

T = TypeVar("T")

ISOLATION_TENANTS = ("iso-tenant-a", "iso-tenant-b")
"""Tenants with their own API tokens in every stack."""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def wait_until(predicate: Callable[[], T], timeout: float = 60.0, interval: float = 0.25, what: str = "") -> T:
    deadline = time.monotonic() + timeout
    last: T = predicate()
    while not last:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what or predicate}")
        time.sleep(interval)
        last = predicate()
    return last


class Stack:
    def __init__(self, root: Path, bootstrap_servers: str | None = None, clickhouse_url: str | None = None) -> None:
        """Embedded broker and chDB by default; a real Kafka / ClickHouse server when given."""
        self.root = root
        self.broker = None if bootstrap_servers else EmbeddedBroker(free_port(), root / "broker.log")
        self.http_port = free_port()
        self.worker: subprocess.Popen[bytes] | None = None
        bootstrap = bootstrap_servers or f"127.0.0.1:{self.broker.port}"  # type: ignore[union-attr]
        self.env = {
            **os.environ,
            "COSTREAM_DATA_DIR": str(root / "data"),
            "COSTREAM_KAFKA_BOOTSTRAP_SERVERS": bootstrap,
            "COSTREAM_HTTP_PORT": str(self.http_port),
            "COSTREAM_TOPIC_PARTITIONS": "4",
            "COSTREAM_LOG_LEVEL": "INFO",
            # reconciliation only when a test asks for it, so what it finds is what the
            # worker held, not something a periodic pass already repaired
            "COSTREAM_RECONCILE_INTERVAL": "1h",
        }
        if clickhouse_url:
            self.env["COSTREAM_CLICKHOUSE_URL"] = clickhouse_url
        self.price_overrides = root / "prices.yaml"
        self.price_overrides.write_text("overrides: []\n")
        self.env["COSTREAM_PRICE_OVERRIDES_FILE"] = str(self.price_overrides)
        # API tokens: the harness reads as admin; two tenant tokens for isolation tests
        self.tokens = {"admin": new_token(), **{tenant: new_token() for tenant in ISOLATION_TENANTS}}
        entries = [{"name": "harness", "admin": True, "sha256": digest(self.tokens["admin"])}]
        entries += [{"name": t, "tenant": t, "sha256": digest(self.tokens[t])} for t in ISOLATION_TENANTS]
        (root / "tokens.yaml").write_text(json.dumps({"tokens": entries}))
        self.env["COSTREAM_API_TOKENS_FILE"] = str(root / "tokens.yaml")
        self.env["COSTREAM_API_TOKEN"] = self.tokens["admin"]
        # while this file exists the worker's ClickHouse inserts fail (store outage drills)
        self.insert_fault = root / "insert.fault"
        self.env["COSTREAM_INSERT_FAULT_FILE"] = str(self.insert_fault)
        self.settings = load_settings(
            kafka_bootstrap_servers=self.env["COSTREAM_KAFKA_BOOTSTRAP_SERVERS"], topic_partitions=4
        )

    @property
    def store_dsn(self) -> str:
        """The worker's ClickHouse (embedded: open it only while the worker is stopped)."""
        return load_settings(data_dir=Path(self.env["COSTREAM_DATA_DIR"]),
                             clickhouse_url=self.env.get("COSTREAM_CLICKHOUSE_URL")).clickhouse_dsn  # fmt: skip

    # --- lifecycle ----------------------------------------------------------------------
    def start(self) -> "Stack":
        if self.broker is not None:
            self.broker.start()
        asyncio.run(ensure_topics(self.settings))
        self.start_worker()
        return self

    def start_worker(self, timeout: float = 90.0) -> None:
        log = open(self.root / "worker.log", "ab")  # noqa: SIM115
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "stream.cli.main", "worker"],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        log.close()
        wait_until(self.ready, timeout, interval=0.5, what="the worker to be ready (see worker.log)")

    def ready(self) -> bool:
        if self.worker is not None and self.worker.poll() is not None:
            raise AssertionError(f"worker exited with {self.worker.returncode}; see {self.root / 'worker.log'}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/readyz", timeout=2) as response:
                return bool(json.loads(response.read())["ready"])
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return False

    def stop_worker(self, sig: int = signal.SIGTERM, timeout: float = 30.0) -> int:
        worker, self.worker = self.worker, None
        if worker is None:
            return 0
        worker.send_signal(sig)
        try:
            return worker.wait(timeout)
        except subprocess.TimeoutExpired:
            worker.kill()
            return worker.wait()

    def close(self) -> None:
        self.stop_worker()
        if self.broker is not None:
            self.broker.stop()

    # --- talking to it ------------------------------------------------------------------
    def http(self, path: str, body: dict[str, Any] | None = None, token: str | None = None) -> Any:
        """JSON from the worker's API, as admin unless another ``token`` is given."""
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {token or self.tokens['admin']}"}
        request = urllib.request.Request(f"http://127.0.0.1:{self.http_port}{path}", data=data, headers=headers)
        with urllib.request.urlopen(request, timeout=60) as response:
            return json.loads(response.read())

    def query(self, sql: str, **parameters: Any) -> list[dict[str, Any]]:
        answer = self.http("/v1/query", {"sql": sql, "parameters": parameters})
        return [dict(zip(answer["columns"], row, strict=True)) for row in answer["rows"]]

    def reconcile(self) -> dict[str, Any]:
        """A reconciliation pass of the worker's state with the store, now."""
        report: dict[str, Any] = self.http("/v1/reconcile")
        return report

    def assert_no_drift(self) -> None:
        """The worker's held windows and budget spend equal what the store says."""
        report = self.reconcile()
        assert report["clean"], f"worker state drifted from the store: {report}"

    def stats(self) -> dict[str, int]:
        stats: dict[str, int] = self.http("/v1/stats")
        return stats

    def publish(self, messages: list[tuple[bytes | None, bytes]], topic: str | None = None) -> None:
        async def send() -> None:
            # room for the largest message a producer may send
            producer = AIOKafkaProducer(bootstrap_servers=self.settings.bootstrap_servers, acks="all",
                                        max_request_size=MAX_MESSAGE_BYTES + 64 * 1024)  # fmt: skip
            await producer.start()
            try:
                futures = [await producer.send(topic or self.settings.topic_raw, value=v, key=k) for k, v in messages]
                await asyncio.gather(*futures)
            finally:
                await producer.stop()

        asyncio.run(send())

    def read_topic(self, topic: str) -> list[tuple[bytes | None, bytes]]:
        """Every message currently on ``topic``, from the beginning (tombstones left out)."""
        return [(key, value) for key, value in asyncio.run(read_topic(self.settings, topic)) if value is not None]

    def budget_statuses(self) -> dict[str, dict[str, Any]]:
        """The latest status of every budget on the compacted status topic, by budget id."""
        return {key.decode(): json.loads(value) for key, value in self.read_topic(self.settings.topic_budget_status)
                if key is not None}  # fmt: skip
