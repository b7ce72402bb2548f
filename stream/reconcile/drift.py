"""What differs between held state and the store (pure)."""

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from schemas.money import MONEY_CONTEXT
from stream.store.rows import MEASURE_NAMES


def _plain(value: Any) -> Any:
    return format(value, "f") if isinstance(value, Decimal) else value


@dataclass(frozen=True, slots=True)
class WindowDrift:
    tenant_id: str
    window_start: datetime
    measures: dict[str, tuple[Any, Any]]
    """measure -> (held by the worker, computed from the store), only those that differ."""

    @property
    def cost_drift(self) -> Decimal:
        held, stored = self.measures.get("total_cost", (Decimal(0), Decimal(0)))
        return MONEY_CONTEXT.subtract(held, stored)

    def as_json(self) -> dict[str, Any]:
        return {
            "tenant_id": self.tenant_id, "window_start": self.window_start.isoformat(),
            "measures": {name: {"held": _plain(a), "stored": _plain(b)} for name, (a, b) in self.measures.items()},
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class BudgetDrift:
    budget_id: str
    tenant_id: str
    period_start: datetime
    held_spend: Decimal
    stored_spend: Decimal
    held_unpriced: int
    stored_unpriced: int

    @property
    def spend_drift(self) -> Decimal:
        return MONEY_CONTEXT.subtract(self.held_spend, self.stored_spend)

    def as_json(self) -> dict[str, Any]:
        return {
            "budget_id": self.budget_id, "tenant_id": self.tenant_id, "period_start": self.period_start.isoformat(),
            "held_spend_usd": _plain(self.held_spend), "stored_spend_usd": _plain(self.stored_spend),
            "drift_usd": _plain(self.spend_drift), "held_unpriced": self.held_unpriced,
            "stored_unpriced": self.stored_unpriced,
        }  # fmt: skip


def window_drift(tenant: str, start: datetime, held: Sequence[Any], stored: Sequence[Any]) -> WindowDrift | None:
    differing = {name: (a, b) for name, a, b in zip(MEASURE_NAMES, held, stored, strict=True) if a != b}
    return WindowDrift(tenant, start, differing) if differing else None


@dataclass(slots=True)
class ReconcileReport:
    at: datetime
    windows_checked: int = 0
    budget_periods_checked: int = 0
    windows: list[WindowDrift] = field(default_factory=list)
    budgets: list[BudgetDrift] = field(default_factory=list)
    repaired: bool = False

    @property
    def drift_usd(self) -> Decimal:
        """Absolute cost drift over windows and budget periods."""
        total = Decimal(0)
        for drift in [*(w.cost_drift for w in self.windows), *(b.spend_drift for b in self.budgets)]:
            total = MONEY_CONTEXT.add(total, abs(drift))
        return total

    @property
    def clean(self) -> bool:
        return not self.windows and not self.budgets

    def by_tenant(self) -> dict[str, dict[str, Any]]:
        """Per tenant: windows and budget periods that drifted, and their cost drift."""
        out: dict[str, dict[str, Any]] = {}

        def entry(tenant: str) -> dict[str, Any]:
            return out.setdefault(tenant, {"windows": 0, "window_cost_drift_usd": Decimal(0), "budget_periods": 0,
                                           "budget_spend_drift_usd": Decimal(0)})  # fmt: skip

        for window in self.windows:
            found = entry(window.tenant_id)
            found["windows"] += 1
            found["window_cost_drift_usd"] = MONEY_CONTEXT.add(found["window_cost_drift_usd"], window.cost_drift)
        for budget in self.budgets:
            found = entry(budget.tenant_id)
            found["budget_periods"] += 1
            found["budget_spend_drift_usd"] = MONEY_CONTEXT.add(found["budget_spend_drift_usd"], budget.spend_drift)
        return out

    def as_json(self) -> dict[str, Any]:
        return {
            "at": self.at.isoformat(), "clean": self.clean, "repaired": self.repaired,
            "drift_usd": _plain(self.drift_usd), "windows_checked": self.windows_checked,
            "budget_periods_checked": self.budget_periods_checked,
            "tenants": {t: {k: _plain(v) for k, v in e.items()} for t, e in sorted(self.by_tenant().items())},
            "windows": [w.as_json() for w in self.windows], "budgets": [b.as_json() for b in self.budgets],
        }  # fmt: skip
