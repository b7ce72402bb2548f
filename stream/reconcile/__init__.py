"""Comparing the worker's state with the store, which stays the source of truth for
reports: drift is reported per tenant and budget, and repaired."""

from stream.reconcile.drift import BudgetDrift, ReconcileReport, WindowDrift
from stream.reconcile.run import reconcile

__all__ = ["BudgetDrift", "ReconcileReport", "WindowDrift", "reconcile"]
