"""``costream report`` with no worker running: it opens the embedded store itself."""

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

from stream.store.client import ClickHouseStore
from stream.store.migrate import migrate
from tests.stack import free_port


def test_report_reads_the_store_directly_when_no_worker_answers(tmp_path: Path) -> None:
    store = ClickHouseStore(f"chdb://{tmp_path / 'clickhouse'}")
    migrate(store)
    store.command_sync(
        "INSERT INTO usage_rollup_day (tenant_id, day, group_key, provider, model, requests, priced_requests, "
        "total_cost, version) VALUES ('t1', '2026-04-02', 'g1', 'openai', 'openai/gpt-4o', 3, 3, 0.25, 1), "
        "('t1', '2026-04-03', 'g2', 'openai', 'openai/gpt-4o-mini', 2, 2, 0.125, 1), "
        "('t2', '2026-04-03', 'g1', 'openai', 'openai/gpt-4o', 7, 7, 1.5, 1)"
    )
    store.close()  # chDB: one process per data path; the CLI opens it next
    env = {**os.environ, "COSTREAM_DATA_DIR": str(tmp_path), "COSTREAM_HTTP_PORT": str(free_port())}
    env.pop("COSTREAM_API_TOKEN", None)
    done = subprocess.run(
        [sys.executable, "-m", "stream.cli.main", "report", "cost", "--tenant", "t1", "--by", "model",
         "--since", "2026-04-01", "--until", "2026-05-01", "--format", "json"],
        env=env, capture_output=True, text=True, timeout=120, check=False,
    )
    assert done.returncode == 0, done.stderr
    rows = {row["model"]: (row["requests"], Decimal(row["cost"])) for row in json.loads(done.stdout)}
    assert rows == {"openai/gpt-4o": (3, Decimal("0.25")), "openai/gpt-4o-mini": (2, Decimal("0.125"))}
