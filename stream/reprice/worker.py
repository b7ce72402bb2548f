"""Re-pricing inside the running worker (``POST /v1/reprice``), and without one.

In the worker, the corrected event rows are written while ingestion goes on (they carry
the same price the worker gives a new or redelivered copy of the event: one price book).
Then, with the state lock held so no batch is half applied meanwhile:

1. the windows holding a changed event are computed again from the store: those the worker
   holds take the new content, the others are written with a higher version, with their
   hour and day rollups;
2. a reconciliation pass repairs the running spend of the budget periods the worker
   holds (and any other drift), from the store;
3. the held windows changed are emitted (``usage_windows``, rollups, the aggregates topic);
4. each budget period a changed event falls in is checked against its spend in the store:
   a correction that carries spend over a threshold fires that breach once (naming the
   event whose correction carried it over), one that lowers spend fires nothing, and the
   budget's status is published again. Periods that ended more than
   ``FIRED_RETENTION`` ago are left alone: which of their breaches fired is no longer known.

Without a worker (:func:`reprice_direct`: the embedded store when no worker runs, or a
ClickHouse server from the CLI), steps 1 and the event rows are done the same way and
budgets are not checked. A worker that holds one of the windows or budget periods (a
ClickHouse server with workers running, or an embedded worker started later from a
checkpoint taken before the run) holds the old figures until its next reconciliation
(``COSTREAM_RECONCILE_INTERVAL``), which repairs them from the store; its next batch for
such a budget then checks the corrected spend.
"""

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal

from schemas.budgets import Budget
from schemas.money import MONEY_CONTEXT
from stream.budgets.enforcer import FIRED_RETENTION
from stream.budgets.evaluate import Contribution, PeriodSpend
from stream.budgets.periods import period_bounds
from stream.budgets.running import BudgetTouch, in_scope
from stream.budgets.spend import period_spend
from stream.pricing.book import PriceBook
from stream.reprice.run import (
    Change,
    Progress,
    RepriceReport,
    RepriceRequest,
    refresh_windows,
    reprice_events,
    write_audit,
)
from stream.sinks.clickhouse import ClickHouseSink
from stream.state.held import StreamState
from stream.windows.state import Window, WindowKey
from stream.worker.app import Worker

log = logging.getLogger(__name__)

TouchKey = tuple[str, datetime]


def budget_touches(
    changes: Sequence[Change], budgets_of: dict[str, list[Budget]], touches: dict[TouchKey, BudgetTouch],
    oldest_end: datetime,
) -> None:
    """Add each change to the budget periods it falls in, as a contribution of the
    difference it makes to the period's spend (in event order per period)."""
    for change in sorted(changes, key=lambda c: (c.old.occurred_at, c.old.event_id)):
        new = change.new.event
        delta = MONEY_CONTEXT.subtract(new.total_cost or Decimal(0), change.old.total_cost or Decimal(0))
        for budget in budgets_of.get(new.tenant_id, []):
            if not in_scope(budget, new):
                continue
            start, end = period_bounds(new.occurred_at, budget.period, budget.timezone)
            if end < oldest_end:
                continue
            touch = touches.get((budget.id, start))
            if touch is None:
                touch = touches[(budget.id, start)] = BudgetTouch(budget, start, end)
            touch.contributions.append(Contribution(new.event_id, new.occurred_at, delta))


def _held(state: StreamState) -> "dict[WindowKey, tuple[int, Window]]":
    return {key: (p.partition, w) for p in state.partitions.values() for key, w in p.windows.items()}


async def reprice_in_worker(worker: Worker, request: RepriceRequest) -> RepriceReport:
    state, s = worker.state, worker.state.settings
    now = state.clock()
    registry = worker.budgets.registry
    budgets_of = {tenant: registry.for_tenant(tenant) for tenant in {b.tenant_id for b in registry.all()}}
    touches: dict[TouchKey, BudgetTouch] = {}

    def on_changes(changes: Sequence[Change]) -> None:
        budget_touches(changes, budgets_of, touches, now - FIRED_RETENTION)

    report, windows = await reprice_events(worker.sink, worker.book, request, size_seconds=s.size_seconds,
                                           clock=state.clock, on_changes=on_changes)  # fmt: skip
    report.extra = {"budget_periods_checked": 0, "breaches": []}
    if request.dry_run:
        return report
    if not report.changed:
        await write_audit(worker.sink, report)
        return report
    async with state.emitting, state.lock:
        held = _held(state)

        def own(key: WindowKey) -> Window | None:
            found = held.get(key)
            if found is None:
                return None
            partition = state.partitions[found[0]]
            partition.dirty.add(key)
            partition.changed = True
            return found[1]

        written, held_changed = await refresh_windows(
            worker.sink, windows, size_seconds=s.size_seconds, dimensions=s.dimensions, max_groups=s.max_groups,
            grace=s.grace, now=now, held=own,
        )  # fmt: skip
        if written:
            await state.publish(written)
        reconciled = await worker.reconcile_locked()
        emitted = await state.emit()
        spends: dict[TouchKey, PeriodSpend] = {}
        for key, touch in touches.items():
            spends[key] = await period_spend(worker.sink.store, touch.budget, touch.period_start, touch.period_end)
        ordered = sorted(touches.values(), key=lambda t: (t.period_start, t.budget.id))
        breaches = await worker.budgets.check(ordered, lambda t: spends[(t.budget.id, t.period_start)])
    await write_audit(worker.sink, report)
    report.windows_refreshed = len(windows)
    report.extra = {
        "held_windows_repaired": len(held_changed), "window_rows_emitted": len(written) + len(emitted),
        "held_state_drift_usd": format(reconciled.drift_usd, "f"), "budget_periods_checked": len(touches),
        "breaches": [b.model_dump(mode="json") for b in breaches],
    }  # fmt: skip
    log.info("reprice %s: %d of %d events changed, %d windows refreshed, %d breaches", report.run_id,
             report.changed, report.events, len(windows), len(breaches))
    return report


async def reprice_direct(
    sink: ClickHouseSink, book: PriceBook, request: RepriceRequest, *, size_seconds: int,
    dimensions: Sequence[str], max_groups: int, grace_seconds: float, progress: Progress | None = None,
) -> RepriceReport:  # fmt: skip
    """The same run with no worker: events, windows, rollups and the audit row."""
    report, windows = await reprice_events(sink, book, request, size_seconds=size_seconds, progress=progress)
    report.extra = {"budget_periods_checked": 0, "breaches": []}
    if request.dry_run:
        return report
    if report.changed:
        await refresh_windows(sink, windows, size_seconds=size_seconds, dimensions=dimensions,
                              max_groups=max_groups, grace=timedelta(seconds=grace_seconds), now=report.ran_at)
        report.windows_refreshed = len(windows)
        report.extra["note"] = ("no worker ran this: a worker holding these windows or budget periods repairs "
                                "them at its next reconciliation")
    await write_audit(sink, report)
    return report
