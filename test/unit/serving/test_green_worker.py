"""The batching worker's handoff: results from the batcher's native thread reach greenlets, and
the batcher waits for more requests only while the loop has some in hand."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import gevent
import pytest

from container_runtime.serving.green_worker import GreenHandoff


@pytest.fixture(autouse=True)
def fresh_loop() -> Iterator[None]:
    """Each test gets a new hub and loop, made before any watcher, as a worker's is."""
    gevent.get_hub().destroy(destroy_loop=True)
    yield
    gevent.get_hub().destroy(destroy_loop=True)


def test_results_set_from_a_native_thread_wake_every_waiting_greenlet() -> None:
    handoff = GreenHandoff()
    waiters = [handoff.waiter() for _ in range(200)]
    woken: list[int] = []

    def wait(index: int) -> None:
        if waiters[index].wait(10):
            woken.append(index)

    greenlets = [gevent.spawn(wait, index) for index in range(len(waiters))]

    def finish() -> None:
        for waiter in waiters:
            handoff.wake(waiter)

    threading.Thread(target=finish).start()
    gevent.joinall(greenlets, timeout=20)
    assert sorted(woken) == list(range(len(waiters)))


def test_more_requests_are_coming_only_while_the_loop_is_busy() -> None:
    handoff = GreenHandoff()
    seen: dict[str, bool] = {}
    settled = threading.Event()

    def batcher_side(label: str, after: float = 0.0) -> None:
        time.sleep(after)
        handoff.watch(settled.set)
        seen[label] = handoff.more_coming()

    # The loop is blocked in its poll (the main greenlet sleeps): nothing is pending.
    idle_check = threading.Thread(target=batcher_side, args=("idle", 0.1))
    idle_check.start()
    gevent.sleep(0.3)
    idle_check.join()
    assert seen["idle"] is False

    # The loop is running Python (this greenlet, without yielding): more may be coming until it
    # catches up, and then the batcher is told.
    busy_check = threading.Thread(target=batcher_side, args=("busy",))
    busy_check.start()
    deadline = time.monotonic() + 0.2
    while time.monotonic() < deadline:  # hold the loop
        pass
    busy_check.join()
    assert seen["busy"] is True
    assert not settled.is_set()
    gevent.sleep(0.1)  # the loop catches up
    assert settled.wait(1)
    assert handoff.more_coming() is False
