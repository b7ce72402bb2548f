"""Background work of the worker besides the ingest agent: emitting windows on a timer,
following budget definitions, and (with ``--demo``) publishing sample traffic."""

import logging
from pathlib import Path
from typing import Any

from stream.broker.reader import follow_topic, read_topic
from stream.pricing import OverridesError
from stream.worker.app import Worker

log = logging.getLogger(__name__)


def register_window_timer(worker: Worker) -> None:
    app, tracker, settings = worker.app, worker.windows, worker.settings
    recovered_for: list[int] | None = None

    @app.timer(settings.window_flush_interval, name="costream.windows")  # type: ignore[untyped-decorator]
    async def flush_windows() -> None:
        nonlocal recovered_for
        if app.consumer is None or app.rebalancing:
            return
        partitions = sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == settings.topic_raw)
        if not partitions:
            return
        try:
            if partitions != recovered_for:
                await tracker.recover(partitions)
                recovered_for = partitions
            await tracker.run_pass(partitions)
        except Exception:
            log.exception("window pass failed; the changed windows are kept for the next pass")


def register_budget_tasks(worker: Worker) -> None:
    """Learn the breaches already published, then follow budget definitions; budget checks
    wait until both are known."""
    app, enforcer, settings = worker.app, worker.budgets, worker.settings

    async def read_breaches() -> list[tuple[bytes | None, bytes | None]]:
        return await read_topic(settings, settings.topic_breaches)

    enforcer.read_breaches = read_breaches

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        enforcer.partitions_assigned()

    @app.task  # type: ignore[untyped-decorator]
    async def follow_budgets() -> None:
        await enforcer.catch_up()
        log.info("budgets: %d breaches already published", len(enforcer.fired))

        async def caught_up() -> None:
            log.info("budgets: %d in force", len(enforcer.registry))
            enforcer.ready.set()

        await follow_topic(settings, settings.topic_budget_definitions, enforcer.registry.apply, caught_up)


def register_price_reload(worker: Worker, interval: float = 5.0) -> None:
    """Reload the overrides file when it changes; a bad file is refused and the book in
    force stays (the reason is logged)."""
    path = worker.settings.price_overrides_file
    if path is None:
        return
    app = worker.app
    seen = _stamp(path)

    @app.timer(interval, name="costream.prices")  # type: ignore[untyped-decorator]
    async def reload_prices() -> None:
        nonlocal seen
        stamp = _stamp(path)
        if stamp == seen:
            return
        seen = stamp
        try:
            worker.book = worker.book.reload()
        except OverridesError as exc:
            log.error("price overrides not reloaded, keeping the previous ones: %s", exc)
            return
        log.info("price overrides reloaded from %s (revision %s)", path, worker.book.overrides.revision)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
