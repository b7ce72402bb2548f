"""Worker memory: RSS after events from 10,000 tenants x 20 models, then over a soak of
steady load, sampled every few seconds (growth reported after a warm-up of 20%)."""

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from tests.stack import Stack, wait_until

MODELS = [
    "gpt-4o-mini", "gpt-4o", "gpt-4.1", "gpt-4.1-mini", "gpt-4.1-nano", "o3", "o4-mini", "o3-mini", "gpt-5",
    "gpt-5-mini", "gpt-5-nano", "gpt-4-turbo", "gpt-3.5-turbo", "o1", "o1-mini", "gpt-4o-2024-08-06",
    "gpt-4o-mini-2024-07-18", "gpt-4.1-2025-04-14", "unknown-model-a", "unknown-model-b",
]


def rss_mb(stack: Stack) -> float:
    assert stack.worker is not None
    for line in Path(f"/proc/{stack.worker.pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _event(tenant: str, model: str, n: int) -> dict[str, Any]:
    return {"event_id": f"{tenant}-{model}-{n}", "tenant_id": tenant, "occurred_at": datetime.now(UTC).isoformat(),
            "provider": "openai", "model": model, "usage": {"input_tokens": 1000, "output_tokens": 100}}


def processed(stack: Stack) -> int:
    stats = stack.stats()
    return int(stats["events_priced"]) + int(stats["events_unpriced"])


def tenants_by_models(stack: Stack, tenants: int = 10_000) -> dict[str, float]:
    nonce = uuid.uuid4().hex[:6]
    before_rss, before = rss_mb(stack), processed(stack)
    messages = []
    for t in range(tenants):
        tenant = f"mem-{nonce}-{t}"
        messages.append((tenant.encode(), orjson.dumps({"events": [_event(tenant, m, 0) for m in MODELS]})))
    stack.publish(messages)
    total = tenants * len(MODELS)
    wait_until(lambda: processed(stack) >= before + total, 900, interval=0.5, what="the tenant x model load")
    time.sleep(3)
    return {"rss_mb_before_tenants": before_rss, "rss_mb_after_10k_tenants_x_20_models": rss_mb(stack),
            "tenant_model_pairs": float(total)}


def soak(stack: Stack, seconds: float, per_second: int = 2000, sample_every: float = 5.0) -> dict[str, Any]:
    nonce = uuid.uuid4().hex[:6]
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    n = 0
    next_sample = started
    while time.monotonic() - started < seconds:
        tick = time.monotonic()
        batch = [_event(f"soak-{nonce}-{(n + i) % 500}", MODELS[(n + i) % 20], n + i) for i in range(per_second)]
        n += per_second
        stack.publish([(b"soak", orjson.dumps({"events": batch[i:i + 100]})) for i in range(0, per_second, 100)])
        if tick >= next_sample:
            samples.append((tick - started, rss_mb(stack)))
            next_sample += sample_every
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
    warm = [rss for at, rss in samples if at >= seconds * 0.2] or [samples[-1][1]]
    return {
        "soak_seconds": seconds, "soak_events": float(n),
        "soak_rss_mb_after_warmup": warm[0], "soak_rss_mb_end": warm[-1],
        "soak_rss_growth_pct_after_warmup": (warm[-1] - warm[0]) / warm[0] * 100,
        "soak_rss_samples": samples,
    }
