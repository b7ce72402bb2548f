"""The worker's HTTP pages (Faust's web server, bound to 127.0.0.1 by default)."""

from typing import Any

from faust.web import Request, Response, View

from stream.web.jsonutil import dumps
from stream.web.query import QueryError, run_query
from stream.worker.app import Worker


def _json(view: View, payload: Any, status: int = 200) -> Response:
    return view.bytes(dumps(payload), content_type="application/json", status=status)


def register_pages(worker: Worker) -> None:
    app = worker.app

    @app.page("/v1/query")
    class QueryView(View):
        async def post(self, request: Request) -> Response:
            try:
                return _json(self, await run_query(worker.store, await request.read()))
            except QueryError as exc:
                return _json(self, {"status": exc.status, "message": exc.message}, exc.status)

    @app.page("/v1/stats")
    class StatsView(View):
        async def get(self, request: Request) -> Response:
            counters, windows = worker.counters, worker.windows
            return _json(self, {
                "messages": counters.messages,
                "events_priced": counters.events_priced,
                "events_unpriced": counters.events_unpriced,
                "dead_letters": counters.dead_letters,
                "batches": counters.batches,
                "insert_failures": worker.sink.failed_attempts,
                "open_windows": len(windows.open_windows),
                "pending_windows": len(windows.dirty),
                "window_passes": windows.passes,
                "window_rows_emitted": windows.emitted,
                "budgets": len(worker.budgets.registry),
                "breaches_published": worker.budgets.breaches_published,
            })

    @app.page("/v1/budgets")
    class BudgetsView(View):
        async def get(self, request: Request) -> Response:
            return _json(self, [budget.model_dump(mode="json") for budget in worker.budgets.registry.all()])

    @app.page("/healthz")
    class HealthView(View):
        async def get(self, request: Request) -> Response:
            return _json(self, {"status": "ok"})

    @app.page("/readyz")
    class ReadyView(View):
        """Ready once the consumer group has given this worker partitions to consume."""

        async def get(self, request: Request) -> Response:
            assigned = len(app.consumer.assignment()) if app.consumer else 0
            ready = assigned > 0 and not app.rebalancing and worker.budgets.ready.is_set()
            return _json(self, {"ready": ready, "assigned_partitions": assigned}, 200 if ready else 503)
