"""How the running system is doing, in one document: broker and store reachable,
consumer lag, throughput, last batch, recent dead letters, budgets near or over their
limit, reconciliation drift. Built by the worker (``GET /v1/status``) or, when no worker
answers, by ``costream status`` itself from the broker and the store."""

from stream.status.budgets import budget_statuses
from stream.status.collect import NEAR_PERCENT, Activity, collect_status, dead_letter_summary

__all__ = ["NEAR_PERCENT", "Activity", "budget_statuses", "collect_status", "dead_letter_summary"]
