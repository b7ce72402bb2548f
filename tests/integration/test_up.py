"""`costream up --demo` as a newcomer runs it: costs arrive, and stopping leaves nothing behind.

This starts its own broker and worker (not the session stack) because it tests exactly
that: the whole stack coming up and going down in one command.
"""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from stream.cli.query import query_worker
from stream.config import load_settings
from tests.stack import free_port, wait_until

pytestmark = pytest.mark.integration


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and stat.read_text().split(")")[-1].split()[0] == "Z")


def start_up(tmp_path: Path) -> tuple[subprocess.Popen[str], dict[str, str]]:
    env = {
        **os.environ,
        "COSTREAM_DATA_DIR": str(tmp_path / "var"),
        "COSTREAM_EMBEDDED_BROKER_PORT": str(free_port()),
        "COSTREAM_HTTP_PORT": str(free_port()),
    }
    env.pop("COSTREAM_KAFKA_BOOTSTRAP_SERVERS", None)
    process = subprocess.Popen(
        [sys.executable, "-m", "stream.cli.main", "up", "--demo"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    return process, env


def broker_pid(process: subprocess.Popen[str]) -> int:
    assert process.stdout is not None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if match := re.search(r"embedded Tansu at \S+ \(pid (\d+)", line):
            return int(match.group(1))
        if not line and process.poll() is not None:
            break
    raise AssertionError("costream up did not report its broker")


def test_up_demo_shows_costs_per_tenant_then_stops_cleanly(tmp_path: Path) -> None:
    process, env = start_up(tmp_path)
    try:
        pid = broker_pid(process)
        assert alive(pid)
        settings = load_settings(
            data_dir=env["COSTREAM_DATA_DIR"], http_port=int(env["COSTREAM_HTTP_PORT"])
        )
        sql = "SELECT tenant_id, sum(total_cost) AS cost FROM usage_events GROUP BY tenant_id"

        def costs() -> list[list[object]]:
            answer = query_worker(settings, sql, {})
            return answer["rows"] if answer else []

        rows = wait_until(lambda: len(found := costs()) >= 3 and found, 60, interval=1, what="demo costs")
        assert all(row[1] is not None and float(str(row[1])) > 0 for row in rows)

        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0
        wait_until(lambda: not alive(pid), 10, what="the broker to exit")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_a_killed_up_leaves_no_orphan_broker(tmp_path: Path) -> None:
    process, _ = start_up(tmp_path)
    try:
        pid = broker_pid(process)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        wait_until(lambda: not alive(pid), 10, what="the orphaned broker to die with its parent")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
