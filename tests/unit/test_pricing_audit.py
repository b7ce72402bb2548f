"""The audit against a second price table: known disagreements, agreement, resolutions,
the shipped table, and the CLI's exit code and JSON."""

import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import orjson
import pytest
import yaml

from stream.pricing import PriceBook
from stream.pricing.audit import Kind, Status, audit
from stream.pricing.corrections import Corrections
from stream.pricing.litellm import LiteLLMTable


def table(tmp_path: Path, entries: dict[str, dict[str, object]]) -> LiteLLMTable:
    path = tmp_path / "litellm.json"
    path.write_bytes(orjson.dumps({"_costream": {"version": "9.9.9", "uploaded": "2026-06-01"}, **entries}))
    return LiteLLMTable.load(path)


# genai-prices 0.2.3: gpt-4o-mini $0.15 in, $0.075 cached, $0.60 out per MTok
AGREES = {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1.5e-07,
          "cache_read_input_token_cost": 7.5e-08, "output_cost_per_token": 6e-07}


def test_agreeing_sources_give_no_disagreement(tmp_path: Path) -> None:
    report = audit(PriceBook(corrections=Corrections.empty()), table(tmp_path, {"gpt-4o-mini": AGREES}),
                   seen=[("openai", "gpt-4o-mini")])
    assert report.compared == 1
    assert not [f for f in report.findings if f.kind is Kind.RATE]
    assert not report.failed
    assert [s.name for s in report.sources] == ["genai-prices", "corrections", "litellm"]
    assert report.sources[2].data_date == date(2026, 6, 1) and report.sources[2].version == "9.9.9"


def test_a_disagreement_beyond_one_percent_in_use_fails(tmp_path: Path) -> None:
    # output $0.61 is 1.6% off $0.60; input $0.1505 is within 1%
    off = {**AGREES, "output_cost_per_token": 6.1e-07, "input_cost_per_token": 1.505e-07}
    report = audit(PriceBook(corrections=Corrections.empty()), table(tmp_path, {"gpt-4o-mini": off}),
                   seen=[("openai", "gpt-4o-mini")])
    rates = [f for f in report.findings if f.kind is Kind.RATE]
    assert [(f.rate, str(f.genai_prices), str(f.other), f.status) for f in rates] == [
        ("output", "0.6", "0.61", Status.UNRESOLVED)]
    assert report.failed


def test_a_disagreement_on_a_model_not_in_use_does_not_fail(tmp_path: Path) -> None:
    off = {**AGREES, "output_cost_per_token": 1e-06}
    report = audit(PriceBook(corrections=Corrections.empty()), table(tmp_path, {"gpt-4o-mini": off}),
                   seen=[("anthropic", "claude-sonnet-4-5")])
    assert [f.in_use for f in report.findings if f.kind is Kind.RATE] == [False]
    assert not report.failed


def test_a_correction_resolves_and_a_resolution_keeps_the_catalog(tmp_path: Path) -> None:
    off = {**AGREES, "output_cost_per_token": 1e-06}
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "openai.yaml").write_text(yaml.safe_dump({"corrections": [{
        "provider": "openai", "model": "gpt-4o-mini", "effective_from": "2026-01-01T00:00:00Z",
        "rates": {"input": "0.15", "cache_read": "0.075", "output": "1"}, "source": "https://openai.com/api/pricing/",
        "checked": "2026-12-01"}]}))
    corrected = audit(PriceBook(corrections=Corrections.load(folder)), table(tmp_path, {"gpt-4o-mini": off}))
    assert not [f for f in corrected.findings if f.kind is Kind.RATE]  # the correction agrees with the table
    (folder / "openai.yaml").write_text(yaml.safe_dump({"resolutions": [{
        "provider": "openai", "model": "gpt-4o-mini", "against": "litellm",
        "reason": "the other table lists a preview price", "source": "https://openai.com/api/pricing/",
        "checked": "2026-12-01"}]}))
    kept = audit(PriceBook(corrections=Corrections.load(folder)), table(tmp_path, {"gpt-4o-mini": off}))
    assert [f.status for f in kept.findings if f.kind is Kind.RATE] == [Status.RESOLVED]
    assert not kept.failed


def test_a_resolution_scoped_to_rates_and_ids_settles_only_those(tmp_path: Path) -> None:
    # the table's cached input $0.01 and output $1 both disagree with $0.075 and $0.60
    off = {**AGREES, "cache_read_input_token_cost": 1e-08, "output_cost_per_token": 1e-06}
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "openai.yaml").write_text(yaml.safe_dump({"resolutions": [{
        "provider": "openai", "model": "gpt-4o-mini", "against": "litellm", "ids": ["gpt-4o-mini"],
        "rates": ["cache_read"], "reason": "the other table lists a cached rate the page does not",
        "source": "https://openai.com/api/pricing/", "checked": "2026-12-01"}]}))
    book = PriceBook(corrections=Corrections.load(folder))
    report = audit(book, table(tmp_path, {"gpt-4o-mini": off, "gpt-4o-mini-2024-07-18": off}))
    found = {(f.compared_id, f.rate): f.status for f in report.findings if f.kind is Kind.RATE}
    assert found == {
        ("gpt-4o-mini", "cache_read"): Status.RESOLVED, ("gpt-4o-mini", "output"): Status.UNRESOLVED,
        ("gpt-4o-mini-2024-07-18", "cache_read"): Status.UNRESOLVED,
        ("gpt-4o-mini-2024-07-18", "output"): Status.UNRESOLVED,
    }
    assert report.failed


def test_a_correction_that_disagrees_with_a_table_citing_the_same_page(tmp_path: Path) -> None:
    page = "https://openai.com/api/pricing/"
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "openai.yaml").write_text(yaml.safe_dump({"corrections": [{
        "provider": "openai", "model": "gpt-4o-mini", "effective_from": "2026-01-01T00:00:00Z",
        "rates": {"input": "0.15", "cache_read": "0.075", "output": "0.9"}, "source": page, "checked": "2026-12-01"}]}))
    report = audit(PriceBook(corrections=Corrections.load(folder)),
                   table(tmp_path, {"gpt-4o-mini": {**AGREES, "source": page + "#x"}}))
    cited = [f for f in report.findings if f.kind is Kind.CITED]
    assert [(f.rate, str(f.correction), str(f.other)) for f in cited] == [("output", "0.9", "0.6")]
    assert report.failed


def test_models_missing_from_either_side_are_listed_not_failed(tmp_path: Path) -> None:
    unknown = {**AGREES}
    report = audit(PriceBook(corrections=Corrections.empty()), table(tmp_path, {"acme-unknown-model": unknown}))
    missing = [f for f in report.findings if f.kind is Kind.MISSING_IN_CATALOG]
    assert [f.compared_id for f in missing] == ["acme-unknown-model"]
    assert any(f.kind is Kind.MISSING_IN_OTHER and f.model == "openai/gpt-4o-mini" for f in report.findings)
    assert not report.failed


def test_time_of_day_prices_agree_with_a_single_price_matching_one_slot(tmp_path: Path) -> None:
    # DeepSeek V4 Pro since 2026-08-17: off-peak $0.66 in / $1.98 out, peak $1.32 / $3.96 (genai-prices)
    peak = {"litellm_provider": "deepseek", "mode": "chat", "input_cost_per_token": 1.32e-06,
            "output_cost_per_token": 3.96e-06}
    path = tmp_path / "t.json"
    path.write_bytes(orjson.dumps({"_costream": {"version": "1", "uploaded": "2026-11-01"},
                                   "deepseek-v4-pro": peak}))
    report = audit(PriceBook(corrections=Corrections.empty()), LiteLLMTable.load(path))
    assert not [f for f in report.findings if f.kind is Kind.RATE]


def test_the_shipped_table_is_the_pinned_release() -> None:
    shipped = LiteLLMTable.load()
    assert shipped.version == "1.110.2" and shipped.uploaded == date(2026, 11, 20)
    assert shipped.version != "1.107.0"
    sonnet = next(e for e in shipped.entries if e.key == "claude-sonnet-4-5")
    # 3e-06 per token in the JSON text is exactly $3 per MTok
    assert str(sonnet.rates["input"]) == "3" and str(sonnet.rates["cache_write_1h"]) == "6"


@pytest.mark.parametrize("fmt", ["json"])
def test_cli_json_names_each_source_and_its_date(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "litellm.json"
    path.write_bytes(orjson.dumps({"_costream": {"version": "9.9.9", "uploaded": "2026-06-01"},
                                   "gpt-4o-mini": {**AGREES, "output_cost_per_token": 1e-06}}))
    run = subprocess.run([sys.executable, "-m", "stream.cli.main", "prices", "audit", "--format", fmt,
                          "--litellm", str(path)], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1, run.stderr
    document = json.loads(run.stdout)
    assert {s["name"]: s["data_date"] for s in document["sources"]}["litellm"] == "2026-06-01"
    assert document["sources"][0]["name"] == "genai-prices" and document["sources"][0]["data_date"] == "2026-11-10"
    finding = next(f for f in document["findings"] if f["kind"] == "rate")
    assert (finding["genai-prices"], finding["litellm"], finding["rate"]) == ("0.6", "1", "output")
    assert document["unresolved_in_use"] == 1
