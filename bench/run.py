"""``make bench``: figures and ratios measured in one run, printed and written to
``bench/results/``. Nothing here asserts a time: these machines are shared and noisy,
so each figure is the best of several repeats, and ratios compare figures from the
same run.
"""

import argparse
import contextlib
import json
import os
import platform
import random
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from genai_prices import calc_price
from genai_prices import extract_usage as genai_extract_usage
from rich.console import Console
from rich.table import Table

from stream.canonical import extract_usage
from stream.demo.events import MIX
from stream.pricing import PriceBook
from stream.pricing.genai import genai_usage
from tests.stack import Stack

RESULTS = Path(__file__).parent / "results"


def best_us_per_call(work: Callable[[], object], calls: int, repeats: int = 5) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(calls):
            work()
        best = min(best, (time.perf_counter() - started) / calls)
    return best * 1e6


def sample_usages(count: int) -> list[tuple[str, str, Any, datetime]]:
    rng = random.Random(42)
    now = datetime.now(UTC)
    samples = []
    for _ in range(count):
        _, provider, flavor, _, make = rng.choices(MIX[:-1], [entry[0] for entry in MIX[:-1]])[0]
        samples.append((provider, flavor, make(rng), now))
    return samples


def bench_pricing(console: Console) -> dict[str, float]:
    book = PriceBook.load()
    events = []
    for provider, flavor, response, at in sample_usages(400):
        model = next(entry[3] for entry in MIX if entry[1] == provider and entry[2] == flavor)
        # The worker's hot path: tokens as the pipeline extracts them, and the breakdown
        # as the book builds it for the pipeline (a struct, exact by construction, not a
        # pydantic model validated again).
        tokens = extract_usage(provider, flavor, response, trusted=True).tokens
        genai = genai_usage(tokens)
        events.append((provider, model, tokens, genai, at))
    for provider, model, tokens, _, at in events:  # warm the caches, as a running worker has
        book.quote(provider, model, tokens, at, "acme", trusted=True)

    def fast() -> None:
        for provider, model, tokens, _, at in events:
            book.quote(provider, model, tokens, at, "acme", trusted=True)

    def reference() -> None:
        for provider, model, _, genai, at in events:
            calc_price(genai, model_ref=model, provider_id=provider if provider != "aws" else "aws",
                       genai_request_timestamp=at)

    ours = best_us_per_call(fast, 5) / len(events)
    theirs = best_us_per_call(reference, 1) / len(events)
    return {"price_us_per_event": ours, "calc_price_us_per_event": theirs, "price_speedup": theirs / ours}


def bench_extraction() -> dict[str, float]:
    samples = sample_usages(400)
    genai_ids = {"aws": "aws"}

    def ours() -> None:
        for provider, flavor, response, _ in samples:
            extract_usage(provider, flavor, response)

    def theirs() -> None:
        for provider, flavor, response, _ in samples:
            with contextlib.suppress(Exception):  # shapes it does not read are skipped
                genai_extract_usage(response, provider_id=genai_ids.get(provider, provider),
                                    api_flavor=flavor if flavor != "converse" else "default")

    mine = best_us_per_call(ours, 5) / len(samples)
    reference = best_us_per_call(theirs, 2) / len(samples)
    return {"extract_us_per_event": mine, "genai_extract_us_per_event": reference,
            "extract_speedup": reference / mine}


def bench_pipeline() -> dict[str, float]:
    """The worker's pure core per event: decode, validate, canonicalise, price, encode
    (see bench/core.py)."""
    from bench import core

    return core.run()


def bench_gate() -> dict[str, float]:
    """The client's budget gate: one ``allowed`` answer, from memory, with 1,000 tenants'
    budgets held and 20 budgets of the tenant asked about (the worker's own status payloads)."""
    from costream_client.gate import GateView
    from schemas.budgets import BudgetState
    from tests.unit.test_budget_gate_view import NOW, status

    view = GateView()
    for n in range(1000):
        view.apply_status(*status(f"t{n}-monthly", f"t{n}", BudgetState.WARN))
    for n in range(20):
        view.apply_status(*status(f"acme-{n}", "acme", BudgetState.OK))
    return {"gate_decision_us": best_us_per_call(lambda: view.decide("acme", now=NOW), 10_000)}


def budget_check_label(results: dict[str, Any]) -> str:
    largest = results.get("budget_check_events_largest")
    if largest is None or largest >= 10_000_000:
        return "budget check per batch flat 10k→10M (≤ 2x)"
    from bench.budget_check import label

    return f"budget check per batch flat 10k→{label(int(largest))} (≤ 2x; 10M not run)"


# key in the results (or derived from them), label, target, met
TARGETS: list[tuple[str, str, str, Callable[[float], bool]]] = [
    ("price_speedup", "pricing hot path vs calc_price", ">= 20x", lambda v: v >= 20),
    ("ratio_costream_to_faust_batch_1", "single-event messages vs bare Faust", ">= 0.85", lambda v: v >= 0.85),
    ("costream_events_per_s_batch_100", "events/s per worker, envelopes of 100", ">= 50,000",
     lambda v: v >= 50_000),
    ("pipeline_us_per_event_batch_100", "pure core per event, envelopes of 100", "<= 15 µs", lambda v: v <= 15),
    ("breach_latency_p99_ms_single_5000", "breach latency p99, single-event messages",
     "< 1000 ms at 5,000 msg/s", lambda v: v < 1000),
    ("breach_latency_p99_ms_envelopes_20000", "breach latency p99, envelopes of 100",
     "< 1000 ms at 20,000 ev/s", lambda v: v < 1000),
    ("budget_check_new_ratio_largest_to_smallest", "budget check per batch flat 10k→10M (≤ 2x)",
     "new(10M) / new(10k) <= 2", lambda v: v <= 2),
    ("soak_rss_growth_pct_after_warmup", "RSS growth over the soak after warm-up", "< 10%", lambda v: v < 10),
]


def target_rows(results: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    """figure, target, measured, met: one row per target, "not measured" when the run has no figure."""
    rows = []
    for key, label, target, met in TARGETS:
        value = results.get(key)
        if key == "budget_check_new_ratio_largest_to_smallest":
            label = budget_check_label(results)
        if value is None:
            rows.append((label, target, "not measured", "-"))
        else:
            rows.append((label, target, f"{value:,.2f}", "[green]yes[/green]" if met(value) else "[red]no[/red]"))
    return rows


def plot(results: dict[str, Any]) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    sizes = [1, 10, 100]
    fig, ax = plt.subplots(figsize=(8, 4.5))
    width = 0.27
    for offset, (label, key) in enumerate([("costream", "costream_events_per_s_batch_{}"),
                                           ("bare Faust (decode only)", "ceiling_faust_events_per_s_batch_{}"),
                                           ("bare aiokafka loop", "ceiling_aiokafka_events_per_s_batch_{}")]):
        values = [results.get(key.format(size), 0) for size in sizes]
        ax.bar([i + (offset - 1) * width for i in range(len(sizes))], values, width, label=label)
    ax.set_xticks(range(len(sizes)), [f"{size} event(s)/message" for size in sizes])
    ax.set_yscale("log")
    ax.set_ylabel("events/s (log)")
    ax.set_title("Throughput by batch size against both ceilings (one worker, embedded broker)")
    ax.legend()
    fig.tight_layout()
    written.append(RESULTS / "throughput.png")
    fig.savefig(written[-1], dpi=110)
    samples = results.get("soak_rss_samples") or []
    if samples:
        fig, ax = plt.subplots(figsize=(8, 4))
        ax.plot([at for at, _ in samples], [rss for _, rss in samples], marker="o")
        ax.set_xlabel("seconds of steady load")
        ax.set_ylabel("worker RSS (MB)")
        ax.set_ylim(bottom=0)
        ax.set_title("Worker memory over the soak")
        fig.tight_layout()
        written.append(RESULTS / "rss.png")
        fig.savefig(written[-1], dpi=110)
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description="costream benchmarks")
    parser.add_argument("--soak-seconds", type=float, default=600.0, help="length of the memory soak")
    parser.add_argument("--report-events", type=int, default=10_000_000,
                        help="synthetic events for report queries, and the most in a budget's period for its check")
    parser.add_argument("--probes", type=int, default=30, help="breach latency probes per background load")
    args = parser.parse_args()
    console = Console()
    console.print("[bold]costream bench[/bold] (best of repeats; ratios from this run)")
    results: dict[str, Any] = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"python": platform.python_version(), "cpu": _cpu_model(), "cores": os.cpu_count(),
                    "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)},
    }
    results.update(bench_pricing(console))
    results.update(bench_extraction())
    results.update(bench_pipeline())
    results.update(bench_gate())
    console.print(f"report queries on {args.report_events:,} synthetic events in chDB ...")
    from bench.reports import run as run_reports

    results.update(run_reports(args.report_events))
    console.print(f"budget check per batch, up to {args.report_events:,} events in the budget's period ...")
    from bench import budget_check

    results.update(budget_check.run(args.report_events))
    if "budget_check_events_largest" in results:
        console.print(budget_check.table(results))
    console.print("starting the embedded stack for end-to-end figures ...")
    from bench import ceilings, memory
    from bench.e2e import run_on

    with tempfile.TemporaryDirectory() as root:
        stack = Stack(Path(root)).start()
        stages: list[tuple[str, Callable[[], dict[str, float]]]] = [
            ("ceilings", lambda: ceilings.run(stack)),
            ("end_to_end", lambda: run_on(stack, args.probes)),
            ("tenants_by_models", lambda: memory.tenants_by_models(stack)),
            ("soak", lambda: memory.soak(stack, args.soak_seconds)),
        ]
        try:
            for name, stage in stages:
                console.print(f"{name} ...")
                try:
                    results.update(stage())
                except Exception as exc:  # a stage that fails costs its own figures, not the run's
                    results[f"{name}_failed"] = f"{type(exc).__name__}: {exc}"
                    console.print(f"[red]{name} failed[/red]: {type(exc).__name__}: {exc}")
        finally:
            stack.close()

    table = Table(title="costream figures", header_style="bold")
    table.add_column("figure")
    table.add_column("value", justify="right")
    for key, value in results.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:,.2f}")
    console.print(table)
    targets = Table(title="targets", header_style="bold")
    for column in ("figure", "target", "measured", "met"):
        targets.add_column(column)
    for row in target_rows(results):
        targets.add_row(*row)
    console.print(targets)
    RESULTS.mkdir(parents=True, exist_ok=True)
    out = RESULTS / "bench.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    for path in plot(results):
        console.print(f"written {path}")
    console.print(f"written {out}")


def _cpu_model() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
