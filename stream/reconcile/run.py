"""One reconciliation pass over the windows and budget periods the worker holds.

Each held window is computed again from ``usage_events FINAL`` and each held budget
period's spend read from the store (by partition, as the worker holds it). A difference
means the state missed or doubled something the store has (a writer other than this
worker, a tenant's events on two partitions, a bug): it is reported, and repaired by
taking the store's figures, with the window's version bumped so the repair is emitted.
It reads the store once per batch of held windows and once per held period: run it every
minute or so, never per batch. Call it with the state lock held.
"""

from stream.budgets.running import RunningSpend, counting_fingerprint
from stream.budgets.spend import period_spend
from stream.reconcile.drift import BudgetDrift, ReconcileReport, window_drift
from stream.state.held import StreamState
from stream.state.partition import PartitionState
from stream.windows.store import load_windows


async def reconcile(state: StreamState, repair: bool = True) -> ReconcileReport:
    report = ReconcileReport(state.clock(), repaired=repair)
    for held in state.partitions.values():
        await _windows(state, held, report, repair)
        await _budgets(state, held, report, repair)
    return report


async def _windows(state: StreamState, held: PartitionState, report: ReconcileReport, repair: bool) -> None:
    keys = sorted(held.windows)
    if not keys:
        return
    s = state.settings
    stored = await load_windows(state.sink, keys, s.size_seconds, s.dimensions, s.max_groups)
    report.windows_checked += len(keys)
    for key in keys:
        window, truth = held.windows[key], stored[key]
        drift = window_drift(key[0], key[1], window.totals(), truth.totals())
        if drift is None:
            continue
        report.windows.append(drift)
        if repair:
            window.groups = truth.groups
            window.version = max(window.version, truth.version) + 1
            held.dirty.add(key)
            held.changed = True


async def _budgets(state: StreamState, held: PartitionState, report: ReconcileReport, repair: bool) -> None:
    budgets = {(b.id, counting_fingerprint(b)): b for b in state.registry.all()}
    now = state.clock()
    for key, running in list(held.spend.items()):
        budget = budgets.get((key[0], key[1]))
        if budget is None or running.period_end <= now:
            continue
        report.budget_periods_checked += 1
        truth = await period_spend(state.sink.store, budget, key[2], running.period_end, held.partition)
        held_unpriced = sum(running.unpriced_by_model.values())
        stored_unpriced = sum(truth.unpriced_by_model.values())
        if truth.spend == running.spend and held_unpriced == stored_unpriced:
            continue
        report.budgets.append(
            BudgetDrift(budget.id, budget.tenant_id, key[2], running.spend, truth.spend, held_unpriced, stored_unpriced)
        )
        if repair:
            held.spend[key] = RunningSpend(running.period_end, truth.spend, truth.unpriced_by_model,
                                           truth.latest_event_at)  # fmt: skip
            held.changed = True
