"""Background work of the worker besides the ingest agent: emitting windows on a timer,
following budget definitions, and (with ``--demo``) publishing sample traffic."""

import asyncio
import logging
import time
from pathlib import Path
from typing import Any

from stream.broker.reader import follow_topic, read_topic
from stream.budgets.enforcer import FIRED_RETENTION, read_fired
from stream.ingest.agent import take_over
from stream.pricing import OverridesError
from stream.pricing.corrections import CorrectionsError
from stream.pricing.datafile import PriceData, PriceDataError
from stream.worker.app import Worker

log = logging.getLogger(__name__)


def assigned_partitions(worker: Worker) -> list[int] | None:
    """Raw-topic partitions assigned to this worker; None while Faust is rebalancing."""
    app = worker.app
    if app.consumer is None or app.rebalancing:
        return None
    return sorted(tp.partition for tp in app.consumer.assignment() if tp.topic == worker.settings.topic_raw)


CHECKPOINT_ON_STOP_TIMEOUT = 10.0
"""Longest a stopping worker waits to write its last checkpoint (the batch in hand, then
the write)."""


def register_window_timer(worker: Worker) -> None:
    """Every flush interval: take over newly assigned partitions, forget revoked ones,
    emit the windows that changed or closed, and checkpoint the state when due."""
    app, state, settings = worker.app, worker.state, worker.settings

    @app.timer(settings.window_flush_interval, name="costream.windows")  # type: ignore[untyped-decorator]
    async def flush_windows() -> None:
        partitions = assigned_partitions(worker)
        if partitions is None:
            return
        try:
            async with state.emitting:
                async with state.lock:
                    state.retain(partitions)
                    await take_over(worker, partitions)
                    emission = state.take_emissions()
                await state.store_emission(emission)  # batches go on meanwhile
                async with state.lock:
                    state.settle(emission)
                    if await state.checkpoint(time.monotonic()):
                        worker.budgets.prune()
        except Exception:
            log.exception("window pass failed; the changed windows are kept for the next pass")

    @app.on_before_shutdown.connect
    async def checkpoint_on_stop(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        # The consumer has stopped: once the batch in hand is done, a checkpoint spares the
        # next owner of these partitions replaying what was stored since the last periodic
        # one. Bounded, so a worker stopped during a store outage still stops; skipping it
        # is safe (the next owner replays from the last checkpoint).
        try:
            async with asyncio.timeout(CHECKPOINT_ON_STOP_TIMEOUT), state.emitting, state.lock:
                saved = await state.checkpoint(time.monotonic(), force=True)
            log.info("checkpointed %d partitions on stop", saved)
        except TimeoutError:
            log.warning("no checkpoint on stop within %.0f s; the next owner replays from the last one",
                        CHECKPOINT_ON_STOP_TIMEOUT)
        except Exception:
            log.exception("checkpoint on stop failed; the next owner replays from the last one")


def register_activity_sampler(worker: Worker) -> None:
    """Once a second: the counters behind ``costream status``'s events/s and last batch."""

    @worker.app.timer(1.0, name="costream.activity")  # type: ignore[untyped-decorator]
    async def sample_activity() -> None:
        c = worker.counters
        stored = c.events_priced + c.events_unpriced
        worker.activity.sample(stored + c.dead_letters + c.duplicates, stored, c.batches)


def register_reconciliation(worker: Worker) -> None:
    """Compare held state with the store now and then; drift is repaired and reported."""

    @worker.app.timer(worker.settings.reconcile_interval, name="costream.reconcile")  # type: ignore[untyped-decorator]
    async def reconcile_state() -> None:
        if assigned_partitions(worker) is None:
            return
        try:
            await worker.reconcile()
        except Exception:
            log.exception("reconciliation failed; it runs again at the next interval")


def register_budget_tasks(worker: Worker) -> None:
    """Learn the breaches already published, then follow budget definitions; budget checks
    wait until both are known."""
    app, enforcer, settings = worker.app, worker.budgets, worker.settings

    async def read_breaches() -> list[tuple[bytes | None, bytes | None]]:
        return await read_topic(settings, settings.topic_breaches)

    enforcer.read_breaches = read_breaches
    enforcer.read_fired = lambda: read_fired(worker.sink, enforcer.clock() - FIRED_RETENTION)

    @app.on_partitions_assigned.connect
    async def on_assigned(sender: Any, /, *args: Any, signal: Any, **kwargs: Any) -> None:
        worker.assignments += 1
        enforcer.partitions_assigned()

    @app.task  # type: ignore[untyped-decorator]
    async def follow_budgets() -> None:
        await enforcer.catch_up()
        log.info("budgets: %d breaches already fired in periods not over", len(enforcer.fired))

        async def caught_up() -> None:
            log.info("budgets: %d in force", len(enforcer.registry))
            enforcer.ready.set()

        await follow_topic(settings, settings.topic_budget_definitions, enforcer.registry.apply, caught_up)


def register_price_reload(worker: Worker, interval: float = 5.0) -> None:
    """Reload the overrides file and the genai-prices data file when they change, and the
    data URL every ``price_data_url_interval``; a bad file is refused and the book in force
    stays (the reason, naming the field, is logged)."""
    settings = worker.settings
    path, data_file, data_url = settings.price_overrides_file, settings.price_data_file, settings.price_data_url
    if path is None and data_file is None and data_url is None:
        return
    app = worker.app
    seen = (_stamp(path) if path else None, _stamp(data_file) if data_file else None)
    fetched = time.monotonic()

    @app.timer(interval, name="costream.prices")  # type: ignore[untyped-decorator]
    async def reload_prices() -> None:
        nonlocal seen, fetched
        stamp = (_stamp(path) if path else None, _stamp(data_file) if data_file else None)
        refetch = data_file is None and data_url is not None and (
            time.monotonic() - fetched >= settings.price_data_url_interval)
        if stamp == seen and not refetch:
            return
        seen = stamp
        data = None
        try:
            if data_file is not None and stamp[1] is not None:
                data = PriceData.from_file(data_file)
            elif refetch and data_url is not None:
                fetched = time.monotonic()
                data = await asyncio.to_thread(PriceData.from_url, data_url)
            book = worker.book.reload(data)
        except (OverridesError, CorrectionsError, PriceDataError) as exc:
            log.error("prices not reloaded, keeping the ones in force: %s", exc)
            return
        if data is not None and data.version == worker.book.data.version and book.overrides.revision == (
                worker.book.overrides.revision):
            return
        worker.book = book
        log.info("prices reloaded: data %s (%s), overrides revision %s", book.data.version, book.data.origin,
                 book.overrides.revision)


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        stat = path.stat()
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size
