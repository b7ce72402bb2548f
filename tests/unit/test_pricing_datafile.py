"""A newer genai-prices data file: validated, priced from, versioned; a broken one refused
with the field named, the data in force kept."""

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from schemas import TokenUsage
from stream.pricing import PriceBook
from stream.pricing.corrections import Corrections
from stream.pricing.datafile import PriceData, PriceDataError

M = Decimal(1_000_000)
DATA = [{"id": "openai", "name": "OpenAI", "api_pattern": "https://api\\.openai\\.com", "models": [
    {"id": "gpt-4o-mini", "match": {"equals": "gpt-4o-mini"},
     "prices": {"input_mtok": "0.2", "cache_read_mtok": "0.1", "output_mtok": "0.8"}}]}]
TOKENS = TokenUsage(input_tokens=3_000, cache_read_tokens=1_000, output_tokens=500)


def write(path: Path, document: object) -> Path:
    path.write_text(json.dumps(document))
    return path


def test_a_data_file_prices_and_versions_events(tmp_path: Path) -> None:
    data = PriceData.from_file(write(tmp_path / "data.json", DATA))
    book = PriceBook.load(data=data, corrections=Corrections.empty())
    quote = book.quote("openai", "gpt-4o-mini", TOKENS, datetime(2026, 5, 1, tzinfo=UTC))
    assert quote is not None and quote.price_source == "genai-prices"
    assert quote.breakdown.total == 2_000 * Decimal("0.2") / M + 1_000 * Decimal("0.1") / M + 500 * Decimal("0.8") / M
    assert quote.price_version.startswith("0.2.3+data.") and quote.price_version == data.version
    assert book.resolve("anthropic", "claude-sonnet-4-5", datetime(2026, 5, 1, tzinfo=UTC)) is None


@pytest.mark.parametrize(("breakage", "named"), [
    (lambda d: d[0]["models"][0]["prices"].update(input_mtok="abc"),
     "providers[0] (openai).models[0] (gpt-4o-mini): prices.input_mtok"),
    (lambda d: d[0]["models"][0].pop("match"), "providers[0] (openai).models[0] (gpt-4o-mini): models.match"),
    (lambda d: d[0].pop("id"), "providers[0]"),
])
def test_a_broken_file_is_refused_with_the_field_named(tmp_path: Path, breakage: object, named: str) -> None:
    document = json.loads(json.dumps(DATA))
    breakage(document)  # type: ignore[operator]
    with pytest.raises(PriceDataError) as raised:
        PriceData.from_file(write(tmp_path / "data.json", document))
    assert named in str(raised.value)


@pytest.mark.parametrize("content", [b"not json", b"{}", b"[]"])
def test_not_a_provider_list_is_refused(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "data.json").write_bytes(content)
    with pytest.raises(PriceDataError, match="price data"):
        PriceData.from_file(tmp_path / "data.json")


def test_reload_keeps_the_data_in_force_unless_given_new_data(tmp_path: Path) -> None:
    data = PriceData.from_file(write(tmp_path / "data.json", DATA))
    book = PriceBook.load(data=data, corrections=Corrections.empty())
    assert book.reload().data is data
    newer = json.loads(json.dumps(DATA))
    newer[0]["models"][0]["prices"]["output_mtok"] = "0.9"
    reloaded = book.reload(PriceData.from_file(write(tmp_path / "newer.json", newer)))
    assert reloaded.rates("openai", "gpt-4o-mini", datetime(2026, 5, 1, tzinfo=UTC)).output == Decimal("0.9")  # type: ignore[union-attr]
    assert book.rates("openai", "gpt-4o-mini", datetime(2026, 5, 1, tzinfo=UTC)).output == Decimal("0.8")  # type: ignore[union-attr]


def test_the_cli_refuses_a_broken_data_file_in_two_lines(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    document = json.loads(json.dumps(DATA))
    document[0]["models"][0]["prices"]["input_mtok"] = "abc"
    env = {**os.environ, "COLUMNS": "400", "COSTREAM_PRICE_DATA_FILE": str(write(tmp_path / "data.json", document))}
    run = subprocess.run([sys.executable, "-m", "stream.cli.main", "prices", "show", "gpt-4o-mini",
                          "--provider", "openai"], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode != 0
    assert "prices.input_mtok" in run.stderr and "Traceback" not in run.stderr
    assert len(run.stderr.strip().splitlines()) <= 2


def test_costream_price_marks_a_repeated_event_id_as_a_duplicate() -> None:
    import os
    import subprocess
    import sys

    event = {"event_id": "e1", "tenant_id": "acme", "occurred_at": "2026-11-20T10:00:00Z", "provider": "openai",
             "model": "gpt-4o-mini", "usage": {"input_tokens": 1000, "output_tokens": 10}}
    lines = "\n".join(json.dumps(e) for e in (event, {**event, "occurred_at": "2026-11-20T10:00:05Z"},
                                               {**event, "tenant_id": "globex"}))
    run = subprocess.run([sys.executable, "-m", "stream.cli.main", "price"], input=lines, capture_output=True,
                         text=True, env=dict(os.environ), timeout=120)
    assert run.returncode == 0, run.stderr
    out = [json.loads(line) for line in run.stdout.splitlines()]
    assert [o.get("duplicate_of") for o in out] == [None, "e1", None]
    assert out[1] == {"event_id": "e1", "tenant_id": "acme", "duplicate_of": "e1", "line": 2}
    assert out[2]["tenant_id"] == "globex" and out[2]["priced"] is True
