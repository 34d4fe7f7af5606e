"""The batcher on its own: grouping, splitting, errors that stay with their request, deadlines."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
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


def submit(running: Batcher, data: Any, seconds: float = 5.0) -> Any:
    running.arriving()
    return running.submit(data, time.perf_counter() + seconds)


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

    running = batcher(slow_double, size=16, calls=calls)
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: submit(running, np.full((1 + i % 3, 2), i, dtype=np.float32)), range(64)))
    for index, result in enumerate(results):
        assert result.shape == (1 + index % 3, 2) and (result == 2 * index).all()
    assert len(calls) < 64 and sum(calls) == sum(1 + i % 3 for i in range(64))


def test_different_trailing_shapes_and_dtypes_never_share_a_call() -> None:
    seen: list[tuple[tuple[int, ...], str]] = []
    gate = threading.Event()

    def record(data: Any) -> Any:
        gate.wait(5)
        seen.append((data.shape, data.dtype.str))
        return data

    running = batcher(record, size=16)
    inputs = [np.zeros((1, 3), np.float32), np.zeros((1, 3), np.float64), np.zeros((2, 4), np.float32),
              np.zeros((1, 3), np.float32), np.zeros(3, np.float32)]
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(submit, running, data) for data in inputs]
        time.sleep(0.2)
        gate.set()
        results = [future.result() for future in futures]
    for data, result in zip(inputs, results, strict=True):
        assert result.shape == data.shape and result.dtype == data.dtype
    assert all(shape[1:] in ((3,), (4,), ()) for shape, _ in seen)


def test_a_failing_combined_call_is_retried_alone_so_only_the_culprit_fails() -> None:
    gate = threading.Event()

    def fragile(data: Any) -> Any:
        gate.wait(5)
        if (data == -1).any():
            raise ValueError("bad row")
        return data + 1

    running = batcher(fragile, size=16)
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(submit, running, np.array([[value]], dtype=np.float32)) for value in (1, 2, -1, 3, 4)]
        time.sleep(0.2)
        gate.set()
        outcomes = []
        for future in futures:
            try:
                outcomes.append(future.result().tolist())
            except ValueError as error:
                outcomes.append(str(error))
    assert outcomes == [[[2.0]], [[3.0]], "bad row", [[4.0]], [[5.0]]]


def test_a_lone_request_does_not_wait_for_the_delay() -> None:
    running = batcher(lambda data: data, delay=5.0)
    started = time.perf_counter()
    for _ in range(3):
        submit(running, np.ones((1, 2)))
    assert time.perf_counter() - started < 1.0


def test_a_queued_request_times_out_and_a_call_past_the_timeout_is_reported_stuck() -> None:
    stuck: list[bool] = []
    release = threading.Event()
    running = batcher(lambda data: release.wait(10) and data, timeout=0.3, on_stuck=lambda: stuck.append(True))
    first = threading.Thread(target=lambda: submit(running, np.ones((1, 1))), daemon=True)
    first.start()
    time.sleep(0.05)
    with pytest.raises(Timeout) as queued:
        submit(running, np.ones((1, 1)), seconds=0.1)
    assert not queued.value.stuck
    time.sleep(0.5)  # the running call passes the timeout: the queued request's check reports it
    assert stuck == [True]
    release.set()
    first.join(5)
