"""The batching worker: gunicorn's gevent worker without monkey-patching, and its result handoff.

One event loop per worker reads, parses and answers every connection as greenlets, so a worker
holds hundreds of requests for the price of one thread, and only two threads want the GIL: the
loop and the batcher, which runs the model (TensorFlow and numpy release the GIL while they
compute, so the loop parses the next requests meanwhile). gunicorn's own gevent worker patches
the whole standard library; this one only makes its listening sockets cooperative, so the
model's code keeps real threads, locks and subprocesses (a patched `subprocess` fails in any
thread but the loop's, as TensorFlow's import showed). Request greenlets wait on gevent events,
which only the loop's thread may set: `GreenHandoff` queues finished results and wakes the loop
through an async watcher, the one gevent object other threads may signal.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from gevent import get_hub, socket  # type: ignore[import-untyped,unused-ignore]
from gevent.event import Event  # type: ignore[import-untyped,unused-ignore]
from gunicorn.workers.ggevent import GeventWorker  # type: ignore[import-untyped,unused-ignore]

from container_runtime.serving.batching import Waiter


class BatchingWorker(GeventWorker):  # type: ignore[misc,unused-ignore]
    def patch(self) -> None:
        """Cooperative listening sockets (their connections follow); nothing else is patched."""
        listeners: list[Any] = self.sockets  # type: ignore[has-type,unused-ignore]
        self.sockets = [socket.socket(s.FAMILY, socket.SOCK_STREAM, fileno=s.sock.fileno()) for s in listeners]


class GreenHandoff:
    """Hands results from the batcher's thread to request greenlets. Create it on the loop's thread."""

    def __init__(self) -> None:
        self._ready: deque[Waiter] = deque()
        self._watcher: Any = get_hub().loop.async_()
        self._watcher.start(self._deliver)

    def waiter(self) -> Waiter:
        event: Waiter = Event()
        return event

    def wake(self, waiter: Waiter) -> None:
        """Any thread: queue the result's event and wake the loop (deque appends are atomic)."""
        self._ready.append(waiter)
        self._watcher.send()

    def _deliver(self) -> None:
        """On the loop: set every queued event (one wake-up may stand for several)."""
        while self._ready:
            self._ready.popleft().set()
