"""Adaptive batching: one batcher thread per worker gathers queued requests into one model call.

Requests decode their own bodies (so a bad body fails alone), then hand the decoded array to
`Batcher.submit`. The batcher thread takes the oldest waiting request and, without waiting,
everything else already queued up to `max_batch_size`; it waits (at most `max_delay` after the
oldest arrived) only while other requests are inside the worker but still decoding, or (gevent
workers) while the worker's event loop still works through requests it has read. A lone request
is therefore never delayed, and under load a batch holds what arrived during the last call.
Rows with the same trailing shape and dtype are concatenated into one call, and the result is
split back by row counts. When a combined call raises, or its result cannot be split, each
request is run alone so an error reaches only the request that caused it. Requests may be
threads or, in a gevent worker, greenlets of the worker's event loop; `Handoff` is how a result
reaches them (see `green_worker`).

A model call cannot be interrupted, so a request that outlives its deadline is answered 504 by
itself. A model call that runs past the timeout is stuck: `on_stuck` is called once (the worker
retires, and gunicorn starts a fresh one) as soon as that is known, checked whenever a request
times out and, if the call is younger than the timeout, again when it would reach it.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from container_runtime.log import get_logger

logger = get_logger(__name__)

QUEUED, RUNNING, DONE = 0, 1, 2


class Timeout(Exception):
    """The request's deadline passed; `stuck` when the model call has run past the timeout."""

    def __init__(self, stuck: bool) -> None:
        super().__init__("stuck model call" if stuck else "deadline passed")
        self.stuck = stuck


class Waiter(Protocol):
    """What a request waits on for its result: `threading.Event`, or gevent's in a gevent worker."""

    def wait(self, timeout: float | None = None) -> bool: ...

    def set(self) -> None: ...


class Handoff(Protocol):
    """Where requests live: how results reach them from the batcher's thread, and whether more are
    on their way."""

    def waiter(self) -> Waiter: ...

    def wake(self, waiter: Waiter) -> None: ...

    def more_coming(self) -> bool:
        """Whether the requests' side is still working through requests it has in hand."""

    def watch(self, settled: Callable[[], None]) -> None:
        """Start watching: `more_coming` holds until the requests' side catches up, then `settled()`."""


class ThreadHandoff:
    """Requests are threads too: set their event directly; `arriving` alone says who is coming."""

    def waiter(self) -> Waiter:
        return threading.Event()

    def wake(self, waiter: Waiter) -> None:
        waiter.set()

    def more_coming(self) -> bool:
        return False

    def watch(self, settled: Callable[[], None]) -> None:
        pass


class _Item:
    __slots__ = ("data", "rows", "key", "event", "state", "result", "error", "enqueued")

    def __init__(self, data: Any, key: Any, rows: int, event: Waiter) -> None:
        self.data = data
        self.key = key
        self.rows = rows
        self.event = event
        self.state = QUEUED
        self.result: Any = None
        self.error: BaseException | None = None
        self.enqueued = time.perf_counter()


#: Called with (requests in the call, rows in the call); with each request's queue wait, and its
#: time from queueing to result (queue wait plus the model call), on the batcher's thread.
BatchObserver = Callable[[int, int], None]
WaitObserver = Callable[[float], None]


class Batcher:
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
        handoff: Handoff | None = None,
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
        self.handoff: Handoff = handoff or ThreadHandoff()
        self._stuck_reported = False
        self._call_number = 0
        self._timer_for = -1
        self._queue: deque[_Item] = deque()
        self._condition = threading.Condition()
        self._arriving = 0
        self._call_started: float | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="batcher", daemon=True)
        self._thread.start()

    # -- request side -------------------------------------------------------------------------

    def arriving(self) -> None:
        """A request entered the worker and may soon submit: the batcher may wait for it."""
        with self._condition:
            self._arriving += 1

    def left(self) -> None:
        """The request submitted, or will not (bad body): stop waiting for it."""
        with self._condition:
            self._arriving -= 1
            self._condition.notify()

    def submit(self, data: Any, deadline: float) -> Any:
        """Run `data` through the model (maybe with others); its result, or raise its error or Timeout."""
        try:
            item = _Item(data, *_batch_key(data), self.handoff.waiter())
        except BaseException:
            self.left()
            raise
        with self._condition:
            self._queue.append(item)
            self._arriving -= 1
            self._condition.notify()
        if not item.event.wait(max(0.0, deadline - time.perf_counter())):
            with self._condition:
                if item.state == QUEUED:
                    self._queue.remove(item)
                    self._check_call(self._call_number)  # queued behind a call that may be stuck
                    raise Timeout(stuck=False)
                if item.state == RUNNING:
                    raise Timeout(stuck=self._check_call(self._call_number))
        if item.error is not None:
            raise item.error
        return item.result

    def _check_call(self, number: int) -> bool:
        """Whether call `number` is still running past the timeout (then report it); else check later.

        Called with the condition held."""
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
        if self._timer_for != number:
            self._timer_for = number
            timer = threading.Timer(self.timeout - ran + 0.01, self._check_later, args=(number,))
            timer.daemon = True
            timer.start()
        return False

    def _check_later(self, number: int) -> None:
        with self._condition:
            self._check_call(number)

    # -- batcher thread -----------------------------------------------------------------------

    def _run(self) -> None:
        while True:
            batch = self._gather()
            with self._condition:
                self._call_number += 1
                self._call_started = time.perf_counter()
            try:
                for group in _groups(batch):
                    self._execute(group)
            finally:
                with self._condition:
                    self._call_started = None

    def _settled(self) -> None:
        """The requests' side has nothing more in hand: stop waiting for more."""
        with self._condition:
            self._condition.notify()

    def _gather(self) -> list[_Item]:
        with self._condition:
            while not self._queue:
                self._condition.wait()
            oldest = self._queue[0].enqueued
            give_up = oldest + self.max_delay
            if len(self._queue) < self.max_batch_size:
                self.handoff.watch(self._settled)
            while len(self._queue) < self.max_batch_size and (self._arriving > 0 or self.handoff.more_coming()):
                remaining = give_up - time.perf_counter()
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            count = min(len(self._queue), self.max_batch_size)
            batch = [self._queue.popleft() for _ in range(count)]
            for item in batch:
                item.state = RUNNING
        if self.on_wait is not None:
            now = time.perf_counter()
            for item in batch:
                self.on_wait(now - item.enqueued)
        return batch

    def _execute(self, group: list[_Item]) -> None:
        if self.on_batch is not None:
            self.on_batch(len(group), sum(item.rows for item in group))
        if len(group) == 1 or group[0].key is None:
            for item in group:
                self._finish(item, self.single_predict if item.key is None else self.batch_predict)
            return
        import numpy as np

        try:
            combined = np.concatenate([item.data for item in group])
            parts = split_rows(self.batch_predict(combined), [item.rows for item in group])
        except BaseException as error:  # noqa: BLE001 - retried alone so the error reaches its owner
            logger.info("A batch of %d requests failed (%s): running each alone", len(group), type(error).__name__)
            parts = None
        if parts is None:
            for item in group:
                self._finish(item, self.batch_predict)
            return
        for item, part in zip(group, parts, strict=True):
            item.result = part
            self._done(item)

    def _finish(self, item: _Item, predict: Callable[[Any], Any]) -> None:
        try:
            item.result = predict(item.data)
        except BaseException as error:  # noqa: BLE001 - handed to the request's own thread
            item.error = error
        self._done(item)

    def _done(self, item: _Item) -> None:
        """Hand the result over; `on_done` gets queueing-to-result time as the batcher saw it, which
        leaves out how long the request's thread then waits for the GIL to wake (HTTP-side time,
        in the request-duration histogram)."""
        elapsed = time.perf_counter() - item.enqueued
        item.state = DONE
        self.handoff.wake(item.event)
        if self.on_done is not None:
            self.on_done(elapsed)


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
