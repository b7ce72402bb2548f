"""The worker's HTTP API (Faust's web server): reports, budgets, ad-hoc queries, the
dashboard, OpenAPI, health and Prometheus metrics.

Every error is JSON ``{"status", "message"}``. Data paths require a bearer token when a
tokens file is configured (see ``stream.web.auth``); health, readiness, metrics, the
OpenAPI document and the dashboard page itself carry no tenant data and stay open.
"""

from collections.abc import Awaitable, Callable
from decimal import Decimal
from importlib import resources
from typing import Any

import orjson
from faust.web import Request, Response, View

from stream.reason import first_line
from stream.reports import ReportError, run_report
from stream.reprice.run import RepriceRequest
from stream.reprice.worker import reprice_in_worker
from stream.status import budget_statuses, collect_status
from stream.web.auth import Authenticator, AuthError, Principal
from stream.web.events_api import MAX_BODY_BYTES, IngestError, ingest
from stream.web.jsonutil import dumps
from stream.web.openapi import openapi_document
from stream.web.otlp import receive_traces, response_body
from stream.web.query import QueryError, run_query
from stream.web.reports_api import BadRequest, catalog, report_params
from stream.worker.app import Worker
from stream.worker.metrics import CONTENT_TYPE, WorkerMetrics
from stream.worker.tasks import assigned_partitions

Handler = Callable[[Principal], Awaitable[Any]]
BREACHES_LIMIT = 200
"""Most breaches ``GET /v1/breaches`` answers (newest first)."""


def _json(view: View, payload: Any, status: int = 200) -> Response:
    return view.bytes(dumps(payload), content_type="application/json", status=status)


def _error(view: View, status: int, message: str) -> Response:
    return _json(view, {"status": status, "message": message}, status)


def dashboard_html() -> bytes:
    return (resources.files("stream.web") / "static" / "dashboard.html").read_bytes()


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused past ``limit`` bytes without reading the rest."""
    chunks: list[bytes] = []
    size = 0
    content = request.content  # type: ignore[attr-defined]  # aiohttp's request under Faust's
    async for chunk in content.iter_chunked(256 * 1024):
        size += len(chunk)
        if size > limit:
            raise IngestError(413, f"the body is over {limit} bytes; send fewer events per request")
        chunks.append(chunk)
    return b"".join(chunks)


def register_pages(worker: Worker, auth: Authenticator) -> None:
    app = worker.app
    metrics = WorkerMetrics(worker)
    window_dimensions = tuple(worker.settings.window_dimensions)

    async def guarded(view: View, request: Request, handler: Handler, admin: bool = False) -> Response:
        try:
            principal = auth.principal(request.headers.get("Authorization"))
            if admin and not principal.admin:
                raise AuthError(403, "this endpoint needs an admin token")
            return _json(view, await handler(principal))
        except AuthError as exc:
            return _error(view, exc.status, exc.message)
        except BadRequest as exc:
            return _error(view, exc.status, exc.message)
        except QueryError as exc:
            return _error(view, exc.status, exc.message)

    @app.page("/v1/reports")
    class ReportsView(View):
        async def get(self, request: Request) -> Response:
            async def handle(_: Principal) -> Any:
                return catalog()

            return await guarded(self, request, handle)

    @app.page("/v1/reports/{name}")
    class ReportView(View):
        async def get(self, request: Request, name: str) -> Response:
            async def handle(principal: Principal) -> Any:
                params = report_params(request.query.items(), principal)
                try:
                    result = await run_report(worker.store, name, params, window_dimensions)
                except ReportError as exc:
                    raise BadRequest(str(exc), 404 if "no report named" in str(exc) else 400) from None
                except Exception as exc:
                    raise QueryError(500, f"report failed: {first_line(exc, 500)}") from None
                return result.as_json()

            return await guarded(self, request, handle)

    @app.page("/v1/events")
    class EventsView(View):
        """Usage events over HTTP (see :mod:`stream.web.events_api`)."""

        async def post(self, request: Request) -> Response:
            try:
                principal = auth.principal(request.headers.get("Authorization"))
                body = await read_body(request, MAX_BODY_BYTES)
                result = await ingest(body, request.headers.get("Content-Type", ""), principal,
                                      worker.settings.topic_raw, worker.publisher.publish)  # fmt: skip
            except AuthError as exc:
                return _error(self, exc.status, exc.message)
            except IngestError as exc:
                headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
                return self.bytes(dumps({"status": exc.status, "message": exc.message}),
                                  content_type="application/json", status=exc.status, headers=headers)  # fmt: skip
            return _json(self, result.as_json(), 202)

    @app.page("/v1/traces")
    class TracesView(View):
        """OTLP/HTTP GenAI spans as usage events (see :mod:`stream.web.otlp`)."""

        async def post(self, request: Request) -> Response:
            content_type = request.headers.get("Content-Type", "")
            try:
                principal = auth.principal(request.headers.get("Authorization"))
                body = await read_body(request, MAX_BODY_BYTES)
                result, _ = await receive_traces(body, content_type, principal, worker.settings.topic_raw,
                                                 worker.publisher.publish)  # fmt: skip
            except AuthError as exc:
                return _error(self, exc.status, exc.message)
            except IngestError as exc:
                headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
                return self.bytes(dumps({"status": exc.status, "message": exc.message}),
                                  content_type="application/json", status=exc.status, headers=headers)  # fmt: skip
            answer, answer_type = response_body(result, content_type)
            return self.bytes(answer, content_type=answer_type, status=200)

    @app.page("/v1/query")
    class QueryView(View):
        async def post(self, request: Request) -> Response:
            async def handle(_: Principal) -> Any:
                return await run_query(worker.store, await request.read())

            return await guarded(self, request, handle, admin=True)

    @app.page("/v1/stats")
    class StatsView(View):
        async def get(self, request: Request) -> Response:
            async def handle(_: Principal) -> Any:
                counters, state = worker.counters, worker.state
                return {
                    "messages": counters.messages,
                    "events_priced": counters.events_priced,
                    "events_unpriced": counters.events_unpriced,
                    "dead_letters": counters.dead_letters,
                    "duplicates": counters.duplicates,
                    "conflicting_duplicates": counters.conflicting_duplicates,
                    "batches": counters.batches,
                    "first_message_at": counters.intake.first_read_at,
                    "last_batch_at": counters.last_batch_at,
                    "partition_assignments": worker.assignments,
                    "insert_failures": worker.sink.failed_attempts,
                    "partitions_held": state.owned(),
                    "open_windows": len(state.resident_windows()),
                    "pending_windows": sum(len(p.dirty) for p in state.partitions.values()),
                    "window_passes": state.passes,
                    "window_rows_emitted": state.emitted,
                    "windows_loaded": state.windows_loaded,
                    "budget_periods_seeded": state.spend_seeded,
                    "checkpoints": state.checkpoints,
                    "recovered_events": state.recovered_events,
                    "budgets": len(worker.budgets.registry),
                    "breaches_published": worker.budgets.breaches_published,
                }

            return await guarded(self, request, handle, admin=True)

    @app.page("/v1/reconcile")
    class ReconcileView(View):
        """Run a reconciliation pass now: drift per tenant and budget (repaired unless
        ``repair=false``)."""

        async def get(self, request: Request) -> Response:
            async def handle(_: Principal) -> Any:
                repair = request.query.get("repair", "true").lower() not in ("false", "0", "no")
                return (await worker.reconcile(repair)).as_json()

            return await guarded(self, request, handle, admin=True)

    @app.page("/v1/reprice")
    class RepriceView(View):
        """Re-price stored events with the catalog in force (``costream reprice``)."""

        async def post(self, request: Request) -> Response:
            async def handle(_: Principal) -> Any:
                try:
                    asked = RepriceRequest.from_json(orjson.loads(await request.read() or b"null"))
                except (ValueError, orjson.JSONDecodeError) as exc:
                    raise BadRequest(f"invalid reprice request: {first_line(exc, 300)}", 400) from None
                return (await reprice_in_worker(worker, asked)).as_json()

            return await guarded(self, request, handle, admin=True)

    @app.page("/v1/budgets")
    class BudgetsView(View):
        async def get(self, request: Request) -> Response:
            async def handle(principal: Principal) -> Any:
                return [
                    budget.model_dump(mode="json") for budget in worker.budgets.registry.all()
                    if principal.admin or budget.tenant_id == principal.tenant
                ]

            return await guarded(self, request, handle)

    @app.page("/v1/budgets/status")
    class BudgetStatusView(View):
        """Every budget's state in its current period (ok / warn / blocked), spend, % used
        and projection, from the store."""

        async def get(self, request: Request) -> Response:
            async def handle(principal: Principal) -> Any:
                budgets = [b for b in worker.budgets.registry.all()
                           if principal.admin or b.tenant_id == principal.tenant]
                return await budget_statuses(worker.store, budgets)

            return await guarded(self, request, handle)

    @app.page("/v1/breaches")
    class BreachesView(View):
        """The latest breaches, newest first (``limit``, default and most 200), as published."""

        async def get(self, request: Request) -> Response:
            async def handle(principal: Principal) -> Any:
                try:
                    limit = min(BREACHES_LIMIT, max(1, int(request.query.get("limit", BREACHES_LIMIT))))
                except ValueError:
                    raise BadRequest("limit must be a whole number", 400) from None
                tenant = None if principal.admin else principal.tenant
                wanted = request.query.get("tenant")
                if wanted and tenant and wanted != tenant:
                    raise AuthError(403, "this token only sees its own tenant")
                tenant = tenant or wanted or None
                result = await worker.store.query(
                    "SELECT breach FROM budget_breaches FINAL WHERE {tenant:String} = '' "
                    "OR tenant_id = {tenant:String} "
                    "ORDER BY emitted_at DESC, breach_id LIMIT {limit:UInt32}",
                    {"tenant": tenant or "", "limit": limit},
                )
                found = [orjson.loads(breach) for breach, in result.result_rows]
                # newest first; thresholds crossed by one batch (one emitted_at) highest first
                return sorted(found, reverse=True, key=lambda b: (
                    b["emitted_at"], b.get("crossed_at") or "", Decimal(b.get("threshold_percent") or 0)))

            return await guarded(self, request, handle)

    @app.page("/v1/status")
    class StatusView(View):
        """How this worker and the system are doing (``costream status``)."""

        async def get(self, request: Request) -> Response:
            async def handle(_: Principal) -> Any:
                last = worker.reconciled
                live = {
                    "running": True, "url": worker.settings.worker_url,
                    "partitions": assigned_partitions(worker), "rebalancing": bool(app.rebalancing),
                    "budgets_ready": worker.budgets.ready.is_set(), "batches": worker.counters.batches,
                    "throughput": worker.activity.rates(),
                    "last_batch_at": worker.activity.last_batch_at.isoformat() if worker.activity.last_batch_at
                    else None,
                    "reconciliation": None if last is None else {
                        "at": last.at.isoformat(), "clean": last.clean, "drift_usd": last.drift_usd,
                        "windows_drifted": len(last.windows), "budget_periods_drifted": len(last.budgets),
                        "repaired": last.repaired,
                    },
                }  # fmt: skip
                return await collect_status(worker.settings, worker.store, worker.budgets.registry.all(), live)

            return await guarded(self, request, handle, admin=True)

    @app.page("/v1/openapi.json")
    class OpenApiView(View):
        async def get(self, request: Request) -> Response:
            return _json(self, openapi_document())

    @app.page("/dashboard")
    class DashboardView(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(dashboard_html(), content_type="text/html")  # the page declares its charset

    @app.page("/metrics")
    class MetricsView(View):
        async def get(self, request: Request) -> Response:
            return self.bytes(await metrics.render(), content_type=CONTENT_TYPE)

    @app.page("/healthz")
    class HealthView(View):
        async def get(self, request: Request) -> Response:
            return _json(self, {"status": "ok"})

    @app.page("/readyz")
    class ReadyView(View):
        """Ready once the consumer group has given this worker partitions to consume."""

        async def get(self, request: Request) -> Response:
            assigned = len(app.consumer.assignment()) if app.consumer else 0
            stalled = [{"partitions": list(stall.partitions), "failing": stall.what, "error": stall.error,
                        "seconds": round(seconds, 1)} for stall, seconds in worker.stalls.stalled()]  # fmt: skip
            ready = assigned > 0 and not app.rebalancing and worker.budgets.ready.is_set() and not stalled
            body = {"ready": ready, "assigned_partitions": assigned, "stalled": stalled}
            return _json(self, body, 200 if ready else 503)
