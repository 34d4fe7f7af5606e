"""The batching worker: gunicorn's gevent (pywsgi) worker without monkey-patching, and the
handoff between its event loop and the batcher thread.

One event loop per worker reads, parses and answers every connection as greenlets, so a worker
holds hundreds of requests for the price of one thread, and only two threads want the GIL: the
loop and the batcher, which runs the model (TensorFlow and numpy release the GIL while they
compute, so the loop parses the next requests meanwhile). gevent's WSGI server answers with
headers and body in one send: about a fifth more requests a second here than gunicorn's parser
on gevent sockets. gunicorn's gevent workers patch the whole standard library; this one only
makes its listening sockets cooperative, so the model's code keeps real threads, locks and
subprocesses (a patched `subprocess` fails in any thread but the loop's, as TensorFlow's import
showed).

Request greenlets wait on gevent events, which only the loop's thread may set: `GreenHandoff`
queues finished results and wakes the loop through an async watcher, the one gevent object other
threads may signal. It also tells the batcher whether the loop has caught up: while it still has
events pending (requests to read, parse and decode), more requests are on their way to the
queue, and the batcher waits for them (up to the batch delay), so batches under load are not cut
at the first request to arrive. A libev idle watcher, armed only while the batcher waits, says
when nothing is pending; while the loop is blocked in its poll, nothing is, without asking.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from gevent import get_hub, socket  # type: ignore[import-untyped,unused-ignore]
from gevent.event import Event  # type: ignore[import-untyped,unused-ignore]
from gunicorn.workers.ggevent import GeventPyWSGIWorker  # type: ignore[import-untyped,unused-ignore]

from container_runtime.serving.batching import Waiter


class BatchingWorker(GeventPyWSGIWorker):  # type: ignore[misc,unused-ignore]
    def patch(self) -> None:
        """Cooperative listening sockets (their connections follow); nothing else is patched."""
        listeners: list[Any] = self.sockets  # type: ignore[has-type,unused-ignore]
        self.sockets = [socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.fileno()) for s in listeners]


class GreenHandoff:
    """Hands results from the batcher's thread to request greenlets. Create it on the loop's thread."""

    def __init__(self) -> None:
        self._ready: deque[Waiter] = deque()
        loop = get_hub().loop
        self._results: Any = loop.async_()
        self._results.start(self._deliver)
        self._watching = False
        self._settled: Callable[[], None] | None = None
        self._arm: Any = loop.async_()
        self._arm.start(self._start_idle)
        # libev runs an idle watcher only when nothing else is pending: the loop has caught up.
        self._idle: Any = loop.idle(ref=False)
        # ...and prepare watchers just before it polls for I/O, check watchers just after: while it
        # polls, it holds nothing, and the batcher need not ask (a round trip to the loop).
        self._polling = False
        self._before_poll: Any = loop.prepare(ref=False)
        self._before_poll.start(self._poll_starts)
        self._after_poll: Any = loop.check(ref=False)
        self._after_poll.start(self._poll_ends)

    def more_coming(self) -> bool:
        """While the loop polls it holds nothing, even if an earlier watch has not yet been answered."""
        return self._watching and not self._polling

    def watch(self, settled: Callable[[], None]) -> None:
        """Any thread: from now, `more_coming` until the loop has nothing pending; then `settled()`."""
        if self._polling:
            return
        self._settled = settled
        self._watching = True
        self._arm.send()

    def _poll_starts(self) -> None:
        self._polling = True

    def _poll_ends(self) -> None:
        self._polling = False

    def _start_idle(self) -> None:
        if self._watching and not self._idle.active:
            self._idle.start(self._caught_up)

    def _caught_up(self) -> None:
        self._idle.stop()
        self._watching = False
        if self._settled is not None:
            self._settled()

    def waiter(self) -> Waiter:
        event: Waiter = Event()
        return event

    def wake(self, waiter: Waiter) -> None:
        """Any thread: queue the result's event and wake the loop (deque appends are atomic)."""
        self._ready.append(waiter)
        self._results.send()

    def _deliver(self) -> None:
        """On the loop: set every queued event (one wake-up may stand for several)."""
        while self._ready:
            self._ready.popleft().set()
