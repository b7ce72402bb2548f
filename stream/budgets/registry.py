"""The budgets in force: from a YAML file at start, changed at run time through a
compacted Kafka topic (key = budget id, value = the budget's JSON, or empty to delete)."""

import logging
from collections import defaultdict, deque
from pathlib import Path
from typing import Any

import orjson
import yaml
from pydantic import ValidationError

from schemas.budgets import Budget
from stream.ingest.errors import describe_validation_error

log = logging.getLogger(__name__)


class BudgetDefinitionError(ValueError):
    pass


def parse_budget(document: Any, where: str) -> Budget:
    try:
        return Budget.model_validate(document)
    except ValidationError as exc:
        raise BudgetDefinitionError(f"{where}: {describe_validation_error(exc)}") from None


def load_budget_file(path: Path) -> list[Budget]:
    """``budgets: [ {id, tenant_id, period, limit_usd, ...}, ... ]``; every error names the entry."""
    try:
        document = yaml.safe_load(path.read_text("utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise BudgetDefinitionError(f"cannot read budgets from {path}: {exc}") from None
    entries = document.get("budgets") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise BudgetDefinitionError(f"{path}: expected a top-level 'budgets:' list")
    budgets = [parse_budget(entry, f"{path}: budgets[{n}]") for n, entry in enumerate(entries)]
    ids = [budget.id for budget in budgets]
    if len(set(ids)) != len(ids):
        raise BudgetDefinitionError(f"{path}: budget ids repeat: {sorted({i for i in ids if ids.count(i) > 1})}")
    return budgets


def encode_budget(budget: Budget) -> bytes:
    return budget.model_dump_json().encode()


def decode_budget(value: bytes | None, key: bytes | None) -> Budget | None:
    """None for a tombstone (delete)."""
    if not value:
        return None
    try:
        document = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise BudgetDefinitionError(f"budget {key!r}: not JSON ({exc})") from None
    return parse_budget(document, f"budget {key.decode(errors='replace') if key else '?'}")


MAX_REJECTED_KEPT = 100


class BudgetRegistry:
    def __init__(self, budgets: list[Budget] | None = None) -> None:
        self._by_id: dict[str, Budget] = {}
        self._by_tenant: dict[str, dict[str, Budget]] = defaultdict(dict)
        self.rejected: deque[str] = deque(maxlen=MAX_REJECTED_KEPT)
        """The latest rejected definitions, with their reasons (each is also logged)."""
        for budget in budgets or []:
            self.put(budget)

    def put(self, budget: Budget) -> None:
        self.delete(budget.id)
        self._by_id[budget.id] = budget
        self._by_tenant[budget.tenant_id][budget.id] = budget

    def delete(self, budget_id: str) -> None:
        old = self._by_id.pop(budget_id, None)
        if old is not None:
            self._by_tenant[old.tenant_id].pop(budget_id, None)

    def apply(self, key: bytes | None, value: bytes | None) -> None:
        """One record of the definitions topic; invalid ones are kept aside with a reason."""
        try:
            budget = decode_budget(value, key)
        except BudgetDefinitionError as exc:
            self._reject(str(exc))
            return
        if budget is None:
            if key:
                self.delete(key.decode(errors="replace"))
            return
        if key and key.decode(errors="replace") != budget.id:
            self._reject(f"budget {key!r}: key does not match id '{budget.id}'")
            return
        self.put(budget)

    def _reject(self, reason: str) -> None:
        log.warning("budget definition rejected: %s", reason)
        self.rejected.append(reason)

    def get(self, budget_id: str) -> Budget | None:
        return self._by_id.get(budget_id)

    def for_tenant(self, tenant_id: str) -> list[Budget]:
        return list(self._by_tenant.get(tenant_id, {}).values())

    def all(self) -> list[Budget]:
        return sorted(self._by_id.values(), key=lambda budget: (budget.tenant_id, budget.id))

    def __len__(self) -> int:
        return len(self._by_id)
