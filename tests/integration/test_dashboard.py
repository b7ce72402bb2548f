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
BLOCK_COLOUR = (0xFF, 0x3B, 0x30)
"""The dashboard's colour of a block breach and a blocked budget (in no chart palette)."""
# 24 events: 20, 40 or 60 million input tokens of gpt-4o-mini, 5 million of them cached,
# and 800 output tokens. At $0.15 / $0.075 / $0.60 per million (stated rates), tenant a's
# 12 events today and before cost well over the $0.001 daily limit set below: blocked.
# At $3 to $9 an event the two tenants outspend whatever else the session's tests stored,
# so they are the dashboard's top tenants and the first two colours are theirs.
DAILY_LIMIT = "0.001"


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
        canonical_event(f"{nonce}-{n}", tenants[n % 2], today - timedelta(days=n % 4), 20_000_000 * (1 + n % 3),
                        800, cached=5_000_000)
        for n in range(24)
    ]
    budget = {"id": f"{tenants[0]}-daily", "tenant_id": tenants[0], "period": "day", "limit_usd": DAILY_LIMIT}
    stack.publish([(budget["id"].encode(), orjson.dumps(budget))], topic=stack.settings.topic_budget_definitions)
    wait_until(lambda: any(b["id"] == budget["id"] for b in stack.http("/v1/budgets")), 30, what="the budget")
    stack.publish([(e["tenant_id"].encode(), orjson.dumps(e)) for e in events])
    in_rollups = "SELECT sum(requests) AS n FROM usage_rollup_day WHERE tenant_id IN {t:Array(String)}"
    wait_until(lambda: stack.query(in_rollups, t=tenants)[0]["n"] == len(events), 90,
               what="dashboard events in the rollups")
    wait_until(lambda: any(b["budget_id"] == budget["id"] and b["severity"] == "block"
                           for b in stack.http("/v1/breaches")), 60, what="the block breach")
    query = urlencode({"token": stack.tokens["admin"], "period": "7d"})
    return f"http://127.0.0.1:{stack.http_port}/dashboard?{query}"


def test_dashboard_renders_charts_from_the_reports(dashboard_url: str) -> None:
    done = chromium("--dump-dom", dashboard_url)
    dom = done.stdout
    assert 'data-loaded="true"' in dom, done.stderr[-2000:]
    assert "chart-timeseries" in dom and 'class="series"' in dom
    assert dom.count('class="bar"') >= 2  # models and cache savings
    assert "openai/gpt-4o-mini" in dom
    assert "(per hour)" in dom  # a week is drawn per hour


def test_dashboard_shows_the_breaches_and_the_blocked_budget(dashboard_url: str) -> None:
    dom = chromium("--dump-dom", dashboard_url).stdout
    breaches = dom.split('id="breaches"')[1].split("</section>")[0]
    assert 'data-state="block"' in breaches and 'data-state="warn"' in breaches
    assert "100% of $0.00100" in breaches and "50% of $0.00100" in breaches  # the thresholds of the $0.001 limit
    status = dom.split('id="budgetstatus"')[1].split("</section>")[0]
    assert '-daily</td>' in status and 'data-state="blocked"' in status
    assert 'class="empty"' not in breaches


def test_dashboard_charts_carry_full_names_and_values_on_hover(dashboard_url: str) -> None:
    dom = chromium("--dump-dom", dashboard_url).stdout
    assert "<title>openai/gpt-4o-mini: $" in dom  # the bar's full name and value
    assert dom.count('class="point"><title>') >= 2 and "<title>dash-" in dom  # each point: tenant, time, cost


def test_dashboard_screenshot_shows_the_drawn_series(dashboard_url: str, tmp_path: Path) -> None:
    shot = tmp_path / "dashboard.png"
    done = chromium(f"--screenshot={shot}", dashboard_url)
    assert shot.exists(), done.stderr[-2000:]
    image = Image.open(shot).convert("RGB")
    width, height = image.size
    counts = dict.fromkeys([*SERIES_COLOURS, BLOCK_COLOUR], 0)
    pixels = image.load()
    assert pixels is not None
    for y in range(0, height, 2):
        for x in range(0, width, 2):
            pixel = pixels[x, y]
            for colour in counts:
                if all(abs(a - b) <= 6 for a, b in zip(pixel, colour, strict=True)):
                    counts[colour] += 1
    # lines, points and bars in both colours: far more than any stray pixel
    assert all(counts[colour] > 150 for colour in SERIES_COLOURS), counts
    assert counts[BLOCK_COLOUR] > 40, counts  # the block badge and the blocked budget's meter are drawn
