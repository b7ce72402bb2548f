"""The Grafana dashboard for ClickHouse-server deployments, generated from the report
queries themselves (``python -m stream.reports.grafana``), so Grafana, the API and the CLI
run the same SQL. Grafana's ClickHouse data source fills the time range
(``$__fromTime``/``$__toTime``) and the ``tenant`` variable in place of the query
parameters; give that data source a read-only ClickHouse user."""

import json
import re
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from stream.reports.catalog import build_query
from stream.reports.params import ReportParams

OUTPUT = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "costream.json"
DATASOURCE = {"type": "grafana-clickhouse-datasource", "uid": "${datasource}"}
# Stand-ins, replaced by Grafana macros below: day-aligned so the rollups are chosen.
_SINCE, _UNTIL = datetime(2000, 1, 1, tzinfo=UTC), datetime(2000, 1, 2, tzinfo=UTC)
_PLACEHOLDER = re.compile(r"\{(\w+):[^{}]*(?:\{[^{}]*\}[^{}]*)*\}")
_MACROS = {"since": "$__fromTime", "until": "$__toTime", "tenant": "'${tenant}'"}

# (title, report, params, panel type, grid position w, h)
PANELS: list[tuple[str, str, dict[str, Any], str, int, int]] = [
    ("Cost over time by tenant", "cost", {"by": ["day", "tenant"]}, "timeseries", 24, 9),
    ("Cost by model", "cost", {"by": ["model"], "limit": 20}, "barchart", 12, 9),
    ("Cache savings by tenant", "cache", {"by": ["tenant"], "limit": 20}, "table", 12, 9),
    ("Top spenders", "top", {"limit": 10}, "table", 12, 9),
    ("Token and cost breakdown by model", "breakdown", {"by": ["model"], "limit": 50}, "table", 12, 9),
    ("Unpriced usage", "unpriced", {"limit": 50}, "table", 12, 8),
    ("Price drift", "drift", {"limit": 50}, "table", 12, 8),
    ("Month-end projection", "projection", {}, "table", 24, 8),
]


def grafana_sql(report: str, params: dict[str, Any]) -> str:
    """The report's SQL with its parameters replaced by Grafana macros and literals."""
    fixed = ReportParams.model_validate({"tenant": "x", "since": _SINCE, "until": _UNTIL, **params})
    if report == "projection":
        fixed = fixed.model_copy(update={"since": None, "until": None})
    definition, query = build_query(report, fixed)
    sql = query.sql
    if report == "projection":
        sql = sql.replace("{since:DateTime('UTC')}", "toStartOfMonth($__toTime)")

    def substitute(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in _MACROS:
            return _MACROS[name]
        value = query.parameters[name]
        return str(value) if isinstance(value, int) else "'" + str(value).replace("'", "\\'") + "'"

    sql = _PLACEHOLDER.sub(substitute, sql)
    # the tenant variable's "All" value matches every tenant
    sql = sql.replace("tenant_id = '${tenant}'", "('${tenant}' = '$__all' OR tenant_id = '${tenant}')")
    # SQL aliases carry a prefix (d_, m_, c_) to stay clear of column names; show plain names
    shown = query.dimensions + list(definition.measures) if definition.measures else list(query.columns)
    outer = [f"{_alias(sql, column)} AS {column}" for column in shown]
    if report == "projection":
        outer = ["d_tenant AS tenant", "m_requests AS requests", "m_cost AS month_to_date",
                 "roundBankers(m_cost * dateDiff('second', toStartOfMonth($__toTime), "
                 "toStartOfMonth($__toTime) + INTERVAL 1 MONTH) / dateDiff('second', toStartOfMonth($__toTime), "
                 "$__toTime), 6) AS projected_month_end"]
    return f"SELECT {', '.join(outer)} FROM ({sql})"


def _alias(sql: str, column: str) -> str:
    match = re.search(rf"AS ([dmc]_{re.escape(column)})\b", sql)
    if match is None:
        raise ValueError(f"column {column} not found in the report SQL")
    return match.group(1)


def _panel(index: int, title: str, report: str, params: dict[str, Any], kind: str, x: int, y: int,
           w: int, h: int) -> dict[str, Any]:
    return {
        "id": index + 1, "title": title, "type": kind, "datasource": DATASOURCE,
        "gridPos": {"x": x, "y": y, "w": w, "h": h},
        "targets": [{
            "refId": "A", "datasource": DATASOURCE, "editorType": "sql", "queryType": "table",
            "format": 0 if kind == "timeseries" else 1, "rawSql": grafana_sql(report, params),
        }],
        "fieldConfig": {"defaults": {"unit": "currencyUSD"} if kind != "table" else {}, "overrides": []},
        "options": {},
    }


def dashboard() -> dict[str, Any]:
    panels, x, y, row_height = [], 0, 0, 0
    for index, (title, report, params, kind, w, h) in enumerate(PANELS):
        if x + w > 24:
            x, y = 0, y + row_height
            row_height = 0
        panels.append(_panel(index, title, report, params, kind, x, y, w, h))
        x, row_height = x + w, max(row_height, h)
    return {
        "__inputs": [{"name": "DS_CLICKHOUSE", "label": "ClickHouse", "type": "datasource",
                      "pluginId": "grafana-clickhouse-datasource", "pluginName": "ClickHouse"}],
        "title": "costream: LLM cost", "uid": "costream-cost", "schemaVersion": 39, "version": 1,
        "editable": True, "time": {"from": "now-30d", "to": "now"}, "refresh": "1m", "tags": ["costream", "llm"],
        "templating": {"list": [
            {"name": "datasource", "type": "datasource", "query": "grafana-clickhouse-datasource",
             "label": "ClickHouse"},
            {"name": "tenant", "type": "query", "label": "Tenant", "datasource": DATASOURCE, "includeAll": True,
             "allValue": "$__all", "current": {"text": "All", "value": "$__all"}, "refresh": 2,
             "query": "SELECT DISTINCT tenant_id FROM usage_rollup_day ORDER BY tenant_id"},
        ]},
        "panels": panels,
    }


def render() -> str:
    return json.dumps(dashboard(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str]) -> int:
    text = render()
    if "--check" in argv:
        if not OUTPUT.exists() or OUTPUT.read_text() != text:
            print(f"{OUTPUT} is out of date: run make grafana", file=sys.stderr)
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text)
    print(f"wrote {OUTPUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
