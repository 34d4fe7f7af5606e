"""The batcher on its own, on an asyncio loop as in a batching worker: grouping, splitting, errors
that stay with their request, when a flush waits, deadlines."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any

import numpy as np
import pytest

from container_runtime.serving.batching import Batcher, Timeout, split_rows


def batcher(predict: Callable[[Any], Any], *, size: int = 8, delay: float = 0.0, timeout: float = 5.0,
            calls: list[int] | None = None, on_stuck: Callable[[], None] | None = None) -> Batcher:
    def counted(data: Any) -> Any:
        if calls is not None:
            calls.append(len(data) if getattr(data, "ndim", 0) >= 1 else 1)
        return predict(data)

    running = Batcher(counted, counted, max_batch_size=size, max_delay_seconds=delay, timeout_seconds=timeout,
                      on_stuck=on_stuck)
    running.start()
    return running


async def submit(running: Batcher, data: Any, seconds: float = 5.0) -> Any:
    return await running.submit(data, time.perf_counter() + seconds)


def run(scenario: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(asyncio.wait_for(scenario(), 20))


async def outcomes(*requests: Awaitable[Any]) -> list[Any]:
    """Each request's result as a list, or its error's message."""
    return [result.tolist() if isinstance(result, np.ndarray) else str(result)
            for result in await asyncio.gather(*requests, return_exceptions=True)]


def test_split_rows_by_counts_and_refuses_the_wrong_row_count() -> None:
    parts = split_rows(np.arange(12).reshape(6, 2), [1, 3, 2])
    assert parts is not None
    assert [part.tolist() for part in parts] == [[[0, 1]], [[2, 3], [4, 5], [6, 7]], [[8, 9], [10, 11]]]
    named = split_rows({"a": np.arange(3), "b": np.arange(3) * 10}, [2, 1])
    assert named is not None and named[1]["b"].tolist() == [20]
    assert split_rows(np.arange(5), [2, 2]) is None
    assert split_rows(np.float32(1.0), [1]) is None


def test_concurrent_requests_share_calls_and_get_their_own_rows() -> None:
    calls: list[int] = []

    def slow_double(data: Any) -> Any:
        time.sleep(0.01)
        return data * 2

    async def scenario() -> list[Any]:
        running = batcher(slow_double, size=16, calls=calls)
        return await asyncio.gather(
            *(submit(running, np.full((1 + i % 3, 2), i, dtype=np.float32)) for i in range(64)))

    results = run(scenario)
    for index, result in enumerate(results):
        assert result.shape == (1 + index % 3, 2) and (result == 2 * index).all()
    assert len(calls) < 64 and sum(calls) == sum(1 + i % 3 for i in range(64))
    assert max(calls) <= 16 * 3


def test_requests_that_arrive_together_share_the_first_call() -> None:
    calls: list[int] = []

    async def scenario() -> None:
        running = batcher(lambda data: data, size=16, calls=calls)
        await asyncio.gather(*(submit(running, np.ones((1, 2))) for _ in range(10)))

    run(scenario)
    assert calls == [10]


def test_different_trailing_shapes_and_dtypes_never_share_a_call() -> None:
    seen: list[tuple[tuple[int, ...], str]] = []

    def record(data: Any) -> Any:
        seen.append((data.shape, data.dtype.str))
        return data

    inputs = [np.zeros((1, 3), np.float32), np.zeros((1, 3), np.float64), np.zeros((2, 4), np.float32),
              np.zeros((1, 3), np.float32), np.zeros(3, np.float32)]

    async def scenario() -> list[Any]:
        running = batcher(record, size=16)
        return await asyncio.gather(*(submit(running, data) for data in inputs))

    for data, result in zip(inputs, run(scenario), strict=True):
        assert result.shape == data.shape and result.dtype == data.dtype
    assert sorted(seen) == sorted([((2, 3), "<f4"), ((1, 3), "<f8"), ((2, 4), "<f4"), ((3,), "<f4")])


def test_a_failing_combined_call_is_retried_alone_so_only_the_culprit_fails() -> None:
    def fragile(data: Any) -> Any:
        if (data == -1).any():
            raise ValueError("bad row")
        return data + 1

    async def scenario() -> list[Any]:
        running = batcher(fragile, size=16)
        return await outcomes(*(submit(running, np.array([[value]], dtype=np.float32)) for value in (1, 2, -1, 3, 4)))

    assert run(scenario) == [[[2.0]], [[3.0]], "bad row", [[4.0]], [[5.0]]]


def test_a_result_with_the_wrong_row_count_is_retried_alone() -> None:
    async def scenario() -> list[Any]:
        running = batcher(lambda data: data[:1] if len(data) > 1 else data, size=16)
        return await outcomes(*(submit(running, np.full((1, 1), value)) for value in (1, 2, 3)))

    assert run(scenario) == [[[1]], [[2]], [[3]]]


def test_a_lone_request_does_not_wait_for_the_delay() -> None:
    async def scenario() -> float:
        running = batcher(lambda data: data, delay=5.0)
        started = time.perf_counter()
        for _ in range(3):
            await submit(running, np.ones((1, 2)))
        return time.perf_counter() - started

    assert run(scenario) < 1.0


def test_a_flush_waits_for_a_body_still_arriving_but_never_past_the_delay() -> None:
    calls: list[int] = []

    async def scenario() -> tuple[float, float]:
        running = batcher(lambda data: data, size=16, delay=0.3, calls=calls)
        running.arriving()  # its body comes in parts: the queued request waits for it
        first = asyncio.ensure_future(submit(running, np.ones((1, 2))))
        await asyncio.sleep(0.1)
        assert not first.done() and calls == []
        running.arrived()
        second = await submit(running, np.ones((1, 2)))
        await first
        assert second.shape == (1, 2) and calls == [2]
        running.arriving()  # this time the body never comes: the oldest gives up after the delay
        started = time.perf_counter()
        await submit(running, np.ones((1, 2)))
        return time.perf_counter() - started, 0.3

    waited, delay = run(scenario)
    assert calls == [2, 1] and delay - 0.05 <= waited < delay + 1.0


def test_a_queued_request_times_out_and_a_call_past_the_timeout_is_reported_stuck() -> None:
    stuck: list[bool] = []
    release = threading.Event()

    async def scenario() -> None:
        running = batcher(lambda data: release.wait(10) and data, timeout=0.3, on_stuck=lambda: stuck.append(True))
        first = asyncio.ensure_future(submit(running, np.ones((1, 1)), seconds=1.0))
        await asyncio.sleep(0.05)
        with pytest.raises(Timeout) as queued:
            await submit(running, np.ones((1, 1)), seconds=0.1)
        assert not queued.value.stuck
        await asyncio.sleep(0.5)  # the running call passes the timeout: the queued request's check reports it
        assert stuck == [True]
        with pytest.raises(Timeout) as running_late:
            await first
        assert running_late.value.stuck
        release.set()

    run(scenario)


def test_a_cancelled_request_leaves_the_queue() -> None:
    calls: list[int] = []
    release = threading.Event()

    async def scenario() -> None:
        running = batcher(lambda data: release.wait(10) and data, size=16, calls=calls)
        first = asyncio.ensure_future(submit(running, np.ones((1, 1))))
        await asyncio.sleep(0.05)  # the model is busy with the first
        gone = asyncio.ensure_future(submit(running, np.ones((1, 1))))
        kept = asyncio.ensure_future(submit(running, np.ones((1, 1))))
        await asyncio.sleep(0.05)
        gone.cancel()
        await asyncio.sleep(0.05)  # the cancellation reaches its task
        release.set()
        await asyncio.gather(first, kept)

    run(scenario)
    assert calls == [1, 1]


def test_requests_run_one_by_one_when_the_combined_call_costs_more() -> None:
    calls: list[int] = []

    def small_kernel_is_slow(data: Any) -> Any:
        time.sleep(0.001 if len(data) == 1 else 0.1)  # as numpy 1.26's OpenBLAS on a small MLP here
        return data

    async def scenario() -> None:
        running = batcher(small_kernel_is_slow, size=16, calls=calls)
        for _ in range(6):
            await asyncio.gather(*(submit(running, np.ones((1, 2))) for _ in range(4)))

    run(scenario)
    # measured together, then one alone (probe), then one by one from there on
    assert calls[:5] == [4, 1, 3, 1, 1] and calls[5:] == [1] * (len(calls) - 5) and sum(calls) == 24


def test_a_failure_outside_the_model_answers_that_batch_and_the_thread_goes_on() -> None:
    failures = [RuntimeError("metrics directory gone")]

    def observe(requests: int, rows: int) -> None:
        if failures:
            raise failures.pop()

    running = Batcher(lambda data: data, lambda data: data, max_batch_size=8, max_delay_seconds=0.0,
                      timeout_seconds=5.0, on_batch=observe)
    running.start()

    async def scenario() -> list[Any]:
        first = await outcomes(submit(running, np.ones((1, 1))))
        return first + await outcomes(submit(running, np.ones((1, 1))))

    assert run(scenario) == ["metrics directory gone", [[1.0]]]
