"""The dashboard page, rendered by headless Chromium against the real worker: the DOM
after its scripts ran, and a screenshot whose pixels show the drawn charts."""

import shutil
import subprocess
import tempfile
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlencode

import orjson
import pytest
from PIL import Image

from tests.integration.helpers import canonical_event
from tests.stack import Stack, wait_until

pytestmark = pytest.mark.integration

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Chromium's own background connections are refused on a closed network; keep it quiet.
FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--hide-scrollbars",
    "--disable-background-networking", "--disable-component-update", "--disable-sync", "--window-size=1400,1600",
    "--virtual-time-budget=15000",
]
SERIES_COLOURS = [(0x4E, 0x9A, 0xF1), (0xF5, 0xA5, 0x24)]
"""The first two colours of the dashboard's palette: one per tenant line, per model bar."""


def chromium(*args: str) -> subprocess.CompletedProcess[str]:
    assert CHROMIUM is not None
    with tempfile.TemporaryDirectory() as profile:
        return subprocess.run([CHROMIUM, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=120, check=False)


@pytest.fixture(scope="module")
def dashboard_url(stack: Stack) -> str:
    if CHROMIUM is None:
        pytest.skip("Chromium is not installed (make test installs Debian's chromium package when it can)")
    nonce = uuid.uuid4().hex[:8]
    tenants = [f"dash-{nonce}-a", f"dash-{nonce}-b"]
    today = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    events = [
        canonical_event(f"{nonce}-{n}", tenants[n % 2], today - timedelta(days=n % 4), 20_000 * (1 + n % 3), 800,
                        cached=5_000)
        for n in range(24)
    ]
    stack.publish([(e["tenant_id"].encode(), orjson.dumps(e)) for e in events])
    in_rollups = "SELECT sum(requests) AS n FROM usage_rollup_day WHERE tenant_id IN {t:Array(String)}"
    wait_until(lambda: stack.query(in_rollups, t=tenants)[0]["n"] == len(events), 90,
               what="dashboard events in the rollups")
    query = urlencode({"token": stack.tokens["admin"], "period": "7d"})
    return f"http://127.0.0.1:{stack.http_port}/dashboard?{query}"


def test_dashboard_renders_charts_from_the_reports(dashboard_url: str) -> None:
    done = chromium("--dump-dom", dashboard_url)
    dom = done.stdout
    assert 'data-loaded="true"' in dom, done.stderr[-2000:]
    assert "chart-timeseries" in dom and 'class="series"' in dom
    assert dom.count('class="bar"') >= 2  # models and cache savings
    assert "openai/gpt-4o-mini" in dom


def test_dashboard_screenshot_shows_the_drawn_series(dashboard_url: str, tmp_path: Path) -> None:
    shot = tmp_path / "dashboard.png"
    done = chromium(f"--screenshot={shot}", dashboard_url)
    assert shot.exists(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    width, height = image.size
    counts = dict.fromkeys(SERIES_COLOURS, 0)
    pixels = image.load()
    assert pixels is not None
    for y in range(0, height, 2):
        for x in range(0, width, 2):
            pixel = pixels[x, y]
            for colour in SERIES_COLOURS:
                if all(abs(a - b) <= 6 for a, b in zip(pixel, colour, strict=True)):
                    counts[colour] += 1
    # lines, points and bars in both colours: far more than any stray pixel
    assert all(count > 150 for count in counts.values()), counts
