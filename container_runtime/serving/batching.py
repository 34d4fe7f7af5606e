"""Adaptive batching: the worker's event loop gathers decoded requests; one thread runs the model.

Requests are coroutines on the worker's asyncio loop (see `asgi_worker`). Each decodes its own
body (so a bad body fails alone) and queues the decoded array with `Batcher.submit`. When the
model thread is idle, a flush is scheduled at the end of the loop's current pass, after every
request that arrived in the same poll has queued, and hands it everything queued, up to
`max_batch_size`. While the model runs, the loop keeps reading and decoding; when a call ends,
the model thread itself takes the next batch (the queue is shared under a lock), so under load it
runs back to back on what arrived during the last call. A lone request is never delayed: a batch
waits only while other requests in the worker are still receiving their bodies, and never past
`max_delay` after the oldest queued request.

Rows with the same trailing shape and dtype are concatenated into one call, and the result is
split back by row counts; unless, for this model on this machine, one call per request has been
measured to cost less than the combined call (see `call_costs`). When a combined call raises, or
its result cannot be split, each request is run alone so an error reaches only the request that
caused it.

A model call cannot be interrupted, so a request that outlives its deadline is answered 504 by
itself. A model call that runs past the timeout is stuck: `on_stuck` is called once (the worker
retires, and gunicorn starts a fresh one) as soon as that is known, checked whenever a request
times out and, if the call is younger than the timeout, again when it would reach it.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

from container_runtime.log import get_logger
from container_runtime.serving.call_costs import APART, PROBE, CallCosts
from container_runtime.serving.errors import Timeout

logger = get_logger(__name__)

class _Item:
    __slots__ = ("data", "rows", "key", "future", "queued", "result", "error", "answered", "enqueued")

    def __init__(self, data: Any, key: Any, rows: int, future: asyncio.Future[Any]) -> None:
        self.data = data
        self.key = key
        self.rows = rows
        self.future = future
        self.queued = True  # until a batch takes it (under the batcher's lock)
        self.result: Any = None
        self.error: BaseException | None = None
        self.answered = False
        self.enqueued = time.perf_counter()


#: Called with (requests in the call, rows in the call); with each request's queue wait, its time
#: from queueing to result (queue wait plus the model call), and each model call's time, on the
#: model's thread.
BatchObserver = Callable[[int, int], None]
WaitObserver = Callable[[float], None]


class Batcher:
    """Requests submit on the worker's event loop; the model thread runs the calls."""

    def __init__(
        self,
        batch_predict: Callable[[Any], Any],
        single_predict: Callable[[Any], Any],
        *,
        max_batch_size: int,
        max_delay_seconds: float,
        timeout_seconds: float,
        on_batch: BatchObserver | None = None,
        on_wait: WaitObserver | None = None,
        on_stuck: Callable[[], None] | None = None,
        on_done: WaitObserver | None = None,
        on_call: WaitObserver | None = None,
    ) -> None:
        self.batch_predict = batch_predict
        self.single_predict = single_predict
        self.max_batch_size = max_batch_size
        self.max_delay = max_delay_seconds
        self.timeout = timeout_seconds
        self.on_batch = on_batch
        self.on_wait = on_wait
        self.on_stuck = on_stuck
        self.on_done = on_done
        self.on_call = on_call
        #: Used by the model thread only: whether combining pays for this model.
        self.costs = CallCosts()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._queue: deque[_Item] = deque()
        self._arriving = 0
        self._busy = False
        self._flush_scheduled = False
        self._delay_timer: asyncio.TimerHandle | None = None
        self._calls: queue.SimpleQueue[list[_Item]] = queue.SimpleQueue()
        #: Guards the queue and the call state, shared by the loop and the model thread.
        self._lock = threading.Lock()
        self._call_number = 0
        self._call_started: float | None = None
        self._stuck_checked_for = -1
        self._stuck_reported = False

    def start(self) -> None:
        """Start the model thread (from any thread: it touches the loop only through thread-safe calls)."""
        threading.Thread(target=self._run_calls, name="batcher", daemon=True).start()

    # -- requests (on the loop) ---------------------------------------------------------------

    def arriving(self) -> None:
        """A request is still receiving its body, and may soon submit: a flush may wait for it."""
        self._arriving += 1

    def arrived(self) -> None:
        """Its body is in (or it gave up): stop waiting for it."""
        self._arriving -= 1
        self._kick()

    async def submit(self, data: Any, deadline: float) -> Any:
        """Run `data` through the model (maybe with others); its result, or raise its error or Timeout.

        `deadline` is a `time.perf_counter()` value."""
        loop = self._loop = asyncio.get_running_loop()
        item = _Item(data, *_batch_key(data), loop.create_future())
        with self._lock:
            self._queue.append(item)
        self._kick()
        expiry = loop.call_later(max(0.0, deadline - time.perf_counter()), self._expire, item)
        try:
            return await item.future
        except asyncio.CancelledError:
            with self._lock:
                if item.queued:
                    self._queue.remove(item)
            raise
        finally:
            expiry.cancel()

    def _expire(self, item: _Item) -> None:
        if item.future.done():
            return
        with self._lock:
            queued = item.queued
            if queued:
                self._queue.remove(item)
        stuck = self._check_call(self._call_number)  # queued behind a call that may be stuck, or in it
        item.future.set_exception(Timeout(stuck=stuck and not queued))

    def _check_call(self, number: int) -> bool:
        """Whether call `number` is still running past the timeout (then report it); else check later."""
        started = self._call_started
        if number != self._call_number or started is None:
            return False
        ran = time.perf_counter() - started
        if ran >= self.timeout:
            if not self._stuck_reported and self.on_stuck is not None:
                self._stuck_reported = True
                logger.warning("A model call has run %.1f s, past the timeout: replacing this worker", ran)
                self.on_stuck()
            return True
        if self._stuck_checked_for != number and self._loop is not None:
            self._stuck_checked_for = number
            self._loop.call_later(self.timeout - ran + 0.01, self._check_call, number)
        return False

    # -- gathering --------------------------------------------------------------------------

    def _kick(self) -> None:
        """On the loop, after a change: if the model is free, flush at the end of the loop's current
        pass (after every request read in the same poll has queued)."""
        if self._busy or self._flush_scheduled or not self._queue or self._loop is None:
            return
        self._flush_scheduled = True
        self._loop.call_soon(self._flush)

    def _flush(self, waited_enough: bool = False) -> None:
        """On the loop: hand the model thread the next batch, or wait (at most the delay) for bodies."""
        self._flush_scheduled = False
        now = time.perf_counter()
        with self._lock:
            if self._busy or not self._queue:
                return
            batch = self._take(now, waited_enough)
            oldest = self._queue[0].enqueued if batch is None else 0.0
        if batch is None:
            if self._delay_timer is None and self._loop is not None:
                self._delay_timer = self._loop.call_later(oldest + self.max_delay - now, self._delay_over)
            return
        if self._delay_timer is not None:
            self._delay_timer.cancel()
            self._delay_timer = None
        self._calls.put(batch)

    def _delay_over(self) -> None:
        """The oldest request has waited `max_delay`: flush whoever is queued."""
        self._delay_timer = None
        self._flush(waited_enough=True)

    def _take(self, now: float, waited_enough: bool) -> list[_Item] | None:
        """With the lock held: the next batch, marked running; None while a request still receiving
        its body may join (unless the batch is full or the oldest has waited `max_delay`)."""
        if not self._queue:
            return None
        if (
            not waited_enough
            and self._arriving > 0
            and len(self._queue) < self.max_batch_size
            and self._queue[0].enqueued + self.max_delay > now
        ):
            return None
        batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch_size))]
        for item in batch:
            item.queued = False
        self._busy = True
        self._call_number += 1
        self._call_started = now
        return batch

    def _completed(self, batch: list[_Item]) -> None:
        """On the loop: the model thread finished `batch`; answer its requests."""
        for item in batch:
            if item.future.done():  # timed out, or its request was cancelled
                continue
            if item.error is not None:
                item.future.set_exception(item.error)
            else:
                item.future.set_result(item.result)
        self._kick()

    # -- the model thread ---------------------------------------------------------------------

    def _run_calls(self) -> None:
        """Run batches back to back: after a call, take the next batch here (everything queued
        meanwhile) before the loop hears of the results, so the model never waits for the loop."""
        while True:
            batch: list[_Item] | None = self._calls.get()
            while batch is not None:
                try:
                    if self.on_wait is not None:
                        now = time.perf_counter()
                        for item in batch:
                            self.on_wait(now - item.enqueued)
                    for group in _groups(batch):
                        self._execute(group)
                except BaseException as error:  # noqa: BLE001 - the thread must outlive any one batch
                    logger.error("The batcher failed (%s: %s): answering its requests with the error",
                                 type(error).__name__, error)
                    for item in batch:
                        if not item.answered:
                            item.error = error
                finally:
                    finished = batch
                    with self._lock:
                        batch = self._take(time.perf_counter(), False)
                        if batch is None:
                            self._busy = False
                            self._call_started = None
                    loop = self._loop
                    try:
                        if loop is not None:
                            loop.call_soon_threadsafe(self._completed, finished)
                    except RuntimeError:  # the loop closed: the worker is exiting
                        return

    def _execute(self, group: list[_Item]) -> None:
        if len(group) == 1 or group[0].key is None:
            for item in group:
                self._finish(item, self.single_predict if item.key is None else self.batch_predict)
            return
        plan = self.costs.plan([item.rows for item in group])
        if plan == APART:
            for item in group:
                self._finish(item, self.batch_predict)
            return
        if plan == PROBE:
            self._finish(group[0], self.batch_predict)
            group = group[1:]
            if len(group) == 1:
                self._finish(group[0], self.batch_predict)
                return
        import numpy as np

        rows = [item.rows for item in group]
        try:
            combined = np.concatenate([item.data for item in group])
            parts = split_rows(self._timed(self.batch_predict, combined, len(group), sum(rows)), rows)
        except BaseException as error:  # noqa: BLE001 - retried alone so the error reaches its owner
            logger.info("A batch of %d requests failed (%s): running each alone", len(group), type(error).__name__)
            parts = None
        if parts is None:
            for item in group:
                self._finish(item, self.batch_predict)
            return
        for item, part in zip(group, parts, strict=True):
            item.result = part
            self._observe_done(item)

    def _finish(self, item: _Item, predict: Callable[[Any], Any]) -> None:
        try:
            item.result = self._timed(predict, item.data, 1, item.rows)
        except BaseException as error:  # noqa: BLE001 - handed to the request on the loop
            item.error = error
        self._observe_done(item)

    def _timed(self, predict: Callable[[Any], Any], data: Any, requests: int, rows: int) -> Any:
        """One model call on `data` (`rows` rows of `requests` requests), timed and counted."""
        if self.on_batch is not None:
            self.on_batch(requests, rows)
        started = time.perf_counter()
        try:
            return predict(data)
        finally:
            seconds = time.perf_counter() - started
            if predict is self.batch_predict:
                self.costs.observe(rows, seconds)
            if self.on_call is not None:
                self.on_call(seconds)

    def _observe_done(self, item: _Item) -> None:
        """`on_done` gets queueing-to-result time as the model thread saw it, which leaves out how
        long the loop then takes to answer (HTTP-side time, in the request-duration histogram)."""
        item.answered = True
        if self.on_done is not None:
            self.on_done(time.perf_counter() - item.enqueued)


def _batch_key(data: Any) -> tuple[Any, int]:
    """(what must match to share a call, rows); key None for data that is not an array of rows."""
    if type(data).__module__ != "numpy" or type(data).__name__ != "ndarray" or data.ndim < 2:
        return None, 1
    return (tuple(data.shape[1:]), data.dtype.str), int(data.shape[0])


def _groups(batch: list[_Item]) -> list[list[_Item]]:
    groups: dict[Any, list[_Item]] = {}
    alone: list[list[_Item]] = []
    for item in batch:
        if item.key is None:
            alone.append([item])
        else:
            groups.setdefault(item.key, []).append(item)
    return [*groups.values(), *alone]


def split_rows(result: Any, counts: Sequence[int]) -> list[Any] | None:
    """Cut a batched result back into one part per request; None when it has the wrong row count."""
    import numpy as np

    total = sum(counts)
    bounds = np.cumsum(counts)[:-1]
    if isinstance(result, dict):
        columns = {name: split_rows(value, counts) for name, value in result.items()}
        if any(parts is None for parts in columns.values()):
            return None
        return [
            {name: parts[index] for name, parts in columns.items() if parts is not None} for index in range(len(counts))
        ]
    array = np.asarray(result)
    if array.ndim == 0 or array.shape[0] != total:
        return None
    return list(np.split(array, bounds))
