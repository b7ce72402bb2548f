"""The Grafana dashboard runs the reports' own SQL: it is current with the code, and each
panel's query, with Grafana's macros filled in, returns what the report returns."""

from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from stream.reports import ReportParams, run_report_sync
from stream.reports.grafana import PANELS, grafana_sql, main
from stream.store.client import ClickHouseStore, as_utc
from stream.store.migrate import migrate

SINCE, UNTIL = datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 3, 31, tzinfo=UTC)


def test_the_committed_dashboard_is_current() -> None:
    assert main(["--check"]) == 0, "run: make grafana"


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ClickHouseStore]:
    path: Path = tmp_path_factory.mktemp("grafana")
    opened = ClickHouseStore(f"chdb://{path}")
    migrate(opened)
    rollup = ("INSERT INTO usage_rollup_day (tenant_id, day, group_key, provider, model, requests, priced_requests, "
              "input_tokens, cache_read_tokens, output_tokens, input_cost, output_cost, token_cost, total_cost, "
              "cache_savings, version) VALUES ")
    opened.command_sync(rollup + ", ".join(
        f"('{tenant}', '2026-03-{day:02d}', '{model}', 'openai', '{model}', {n}, {n}, {1000 * n}, {100 * n}, {50 * n}, "
        f"{Decimal(n) / 1000}, {Decimal(n) / 500}, {Decimal(n) * 3 / 1000}, {Decimal(n) * 3 / 1000}, "
        f"{Decimal(n) / 10_000}, 1)"
        for n, (tenant, day, model) in enumerate(
            [("t1", 3, "openai/gpt-4o"), ("t1", 4, "openai/gpt-4o-mini"), ("t2", 4, "openai/gpt-4o"),
             ("t2", 20, "openai/gpt-4o-mini")], start=1)
    ))
    opened.command_sync(
        "INSERT INTO usage_events (event_id, tenant_id, occurred_at, ingested_at, provider, model, tracking_type, "
        "priced, input_tokens, output_tokens, provider_cost, token_cost, cost_drift, total_cost) VALUES "
        "('e1', 't1', '2026-03-05 10:00:00', now(), 'openai', 'mystery-model', 'unpriced', false, 10, 5, NULL, "
        "NULL, NULL, NULL), "
        "('e2', 't2', '2026-03-06 10:00:00', now(), 'openai', 'gpt-4o', 'provider_cost', true, 10, 5, 0.5, 0.4, "
        "0.1, 0.5), "
        "('e3', 't1', '2026-03-07 10:00:00', now(), 'openai', 'gpt-4o', 'provider_cost', true, 10, 5, 0.3, 0.2, "
        "0.1, 0.3)"
    )
    yield opened
    opened.close()


def filled(sql: str, tenant: str) -> str:
    return (sql.replace("$__fromTime", "toDateTime('2026-03-01 00:00:00', 'UTC')")
            .replace("$__toTime", "toDateTime('2026-03-31 00:00:00', 'UTC')").replace("${tenant}", tenant))


@pytest.mark.parametrize(("title", "report", "params"), [(p[0], p[1], p[2]) for p in PANELS])
@pytest.mark.parametrize("tenant", ["t1", "$__all"])
def test_each_panel_returns_what_its_report_returns(
    store: ClickHouseStore, title: str, report: str, params: dict[str, object], tenant: str
) -> None:
    panel = store.query_readonly_sync(filled(grafana_sql(report, params), tenant))
    period = {"until": UNTIL} if report == "projection" else {"since": SINCE, "until": UNTIL}
    scope = {"tenant": None if tenant == "$__all" else tenant}
    expected = run_report_sync(store, report, ReportParams.model_validate({**params, **period, **scope}))
    assert panel.result_rows, title
    from_panel = [{k: as_utc(v) if isinstance(v, datetime) else v for k, v in zip(panel.column_names, row, strict=True)}
                  for row in panel.result_rows]
    shared = set(panel.column_names) & set(expected.columns)
    assert len(shared) >= 2, title
    assert [{k: r[k] for k in shared} for r in from_panel] == [{k: r[k] for k in shared} for r in expected.records()]
