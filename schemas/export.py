"""Export every message model as a JSON Schema file, for producers in any language.

``python -m schemas.export`` writes ``schemas/json/<Model>.schema.json``;
``python -m schemas.export --check`` fails if a file is out of date.
"""

import json
import sys
from pathlib import Path

from pydantic import BaseModel

from schemas import DeadLetter, PricedUsageEvent, RawUsageEvent, TokenUsage, UsageBatch
from schemas.budgets import Budget, BudgetBreach, BudgetStatus
from schemas.windows import WindowAggregate

EXPORTED: tuple[type[BaseModel], ...] = (
    RawUsageEvent, UsageBatch, TokenUsage, PricedUsageEvent, DeadLetter, WindowAggregate, Budget, BudgetBreach,
    BudgetStatus,
)
# Models the service produces are exported as they are serialised; inputs as they are validated.
PRODUCED: tuple[type[BaseModel], ...] = (PricedUsageEvent, DeadLetter, WindowAggregate, BudgetBreach, BudgetStatus)
OUTPUT_DIR = Path(__file__).parent / "json"


def rendered() -> dict[Path, str]:
    files = {}
    for model in EXPORTED:
        schema = model.model_json_schema(mode="serialization" if model in PRODUCED else "validation")
        schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
        schema["$id"] = f"https://costream.dev/schemas/{model.__name__}.schema.json"
        files[OUTPUT_DIR / f"{model.__name__}.schema.json"] = json.dumps(schema, indent=2, sort_keys=True) + "\n"
    return files


def main(argv: list[str]) -> int:
    files = rendered()
    if "--check" in argv:
        stale = [path.name for path, text in files.items() if not path.exists() or path.read_text() != text]
        if stale:
            print(f"out of date: {', '.join(stale)}; run `make schemas`", file=sys.stderr)
            return 1
        return 0
    OUTPUT_DIR.mkdir(exist_ok=True)
    for path, text in files.items():
        path.write_text(text)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
