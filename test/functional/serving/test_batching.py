"""Adaptive batching in a real `serve`: every client gets its own rows, errors and timeouts stay
with the request that caused them, and SIGTERM answers what was queued."""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
from prometheus_client.parser import text_string_to_metric_families

from harness.serving import WEIGHTS, Reply, Server, decode_body, npy_bytes

MODULE = "batch_model.py"
CONTENT_TYPES = ("application/json", "application/x-npy", "text/csv")


def batching(size: int = 32, **extra: str) -> dict[str, str]:
    return {"SAGEMAKER_MODEL_SERVER_MAX_BATCH_SIZE": str(size), **extra}


def calls(base: Path) -> list[int]:
    """Rows in each predict_fn call, in order (batch_model.py logs them)."""
    path = base / "model" / "calls.log"
    return [int(line.split()[1]) for line in path.read_text().splitlines()] if path.exists() else []


def rows_for(index: int) -> np.ndarray:
    """1 to 3 rows whose values only request `index` has."""
    count = 1 + index % 3
    return np.array([[index, row, index % 11 + 0.5] for row in range(count)], dtype=np.float32)


def encode(rows: np.ndarray, content_type: str) -> bytes:
    if content_type == "application/x-npy":
        return npy_bytes(rows)
    if content_type == "application/json":
        return json.dumps(rows.tolist()).encode()
    return "".join(",".join(repr(float(v)) for v in row) + "\n" for row in rows).encode()


def metric(server: Server, name: str, **labels: str) -> float:
    """One sample of GET /metrics; 0 when absent."""
    text = server.request("GET", "/metrics").body.decode()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items()):
                return float(sample.value)
    return 0.0


def test_2000_concurrent_requests_each_get_exactly_their_own_rows(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    server = start_server(MODULE, env=batching(32, PREDICT_SECONDS="0.002"), workers=2)
    server.wait_ready()

    def one(index: int) -> str | None:
        rows = rows_for(index)
        content_type = CONTENT_TYPES[index % 3]
        accept = CONTENT_TYPES[(index // 3) % 3]
        reply = server.invoke(encode(rows, content_type), content_type, accept)
        if reply.status != 200 or reply.headers["content-type"] != accept:
            return f"{index}: {reply.status} {reply.headers.get('content-type')} {reply.body[:80]!r}"
        answer = decode_body(reply.body, accept).reshape(len(rows), -1)
        if not np.allclose(answer, rows @ WEIGHTS, rtol=1e-4):
            return f"{index}: got {answer.tolist()} for {rows.tolist()}"
        return None

    with ThreadPoolExecutor(max_workers=32) as pool:
        problems = [problem for problem in pool.map(one, range(2000)) if problem]
    assert problems == []
    made = calls(tmp_path)
    assert sum(made) == sum(len(rows_for(i)) for i in range(2000))
    assert len(made) < 2000  # requests shared calls
    assert max(made) > 3  # more rows than any one request has
    assert metric(server, "serving_batch_size_requests_sum") == 2000


def test_a_module_with_its_own_predict_fn_is_not_batched_unless_it_says_so(
    start_server: Callable[..., Server],
) -> None:
    server = start_server("linear_model.py", env=batching(8), workers=1)
    server.wait_ready()
    assert server.invoke(b"[[1, 2, 3]]", "application/json").json() == [[4.0, 5.0]]
    assert "Batching is off: the module defines predict_fn without batch_predict_fn or supports_batching" in server.log()


def test_a_lone_request_is_not_delayed(start_server: Callable[..., Server]) -> None:
    server = start_server(MODULE, env=batching(32, SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS="2000"), workers=1)
    server.wait_ready()
    started = time.monotonic()
    for _ in range(5):
        assert server.invoke(b"[[1, 2, 3]]", "application/json").json() == [[4.0, 5.0]]
    assert time.monotonic() - started < 2.0


def test_bad_requests_in_a_batch_fail_alone(start_server: Callable[..., Server], tmp_path: Path) -> None:
    env = batching(64, PREDICT_SECONDS="0.3", SLOW_SECONDS="1.5", SAGEMAKER_MAX_PAYLOAD_IN_MB="1")
    server = start_server(MODULE, env=env, workers=1)
    server.wait_ready()
    good = [np.array([[i, 1, 2]], dtype=np.float32) for i in range(10)]
    cases: list[tuple[str, Callable[[], Reply], int]] = [
        (f"good {i}", (lambda r=rows: server.invoke(encode(r, "application/json"), "application/json")), 200)
        for i, rows in enumerate(good)
    ]
    cases += [
        ("wrong shape", lambda: server.invoke(b"[[1, 2]]", "application/json"), 400),
        ("bad JSON", lambda: server.invoke(b"[[1, 2", "application/json"), 400),
        ("model bug", lambda: server.invoke(b"[[-2.0, 0.0, 0.0]]", "application/json"), 500),
        ("unsupported type", lambda: server.invoke(b"[[1, 2, 3]]", "text/plain"), 415),
        ("unacceptable", lambda: server.invoke(b"[[1, 2, 3]]", "application/json", "image/png"), 406),
        ("too large", lambda: server.invoke(b" " * (1024 * 1024 + 1), "application/json"), 413),
    ]
    # A first, slow request (first value -1) keeps the model busy long enough for the rest, sent by
    # 16 client threads on a possibly loaded machine, to queue up and share the next call.
    blocker = threading.Thread(target=lambda: server.invoke(b"[[-1, 7, 7]]", "application/json"))
    blocker.start()
    time.sleep(0.1)
    with ThreadPoolExecutor(max_workers=len(cases)) as pool:
        replies = list(pool.map(lambda case: case[1](), cases))
    blocker.join()
    for (name, _, status), reply in zip(cases, replies, strict=True):
        assert reply.status == status, (name, reply.body)
    for rows, reply in zip(good, replies[: len(good)], strict=True):
        assert reply.json() == (rows @ WEIGHTS).tolist()
    assert replies[12].json()["message"] == "predict_fn raised ZeroDivisionError: bug in predict_fn"
    assert max(calls(tmp_path)) >= 11  # the good rows and the model bug shared a call that failed


def test_a_timeout_inside_a_batch_answers_504_and_replaces_a_stuck_worker(
    start_server: Callable[..., Server], tmp_path: Path
) -> None:
    env = batching(8, SAGEMAKER_MODEL_SERVER_TIMEOUT="2", SLOW_SECONDS="60")
    server = start_server(MODULE, env=env, workers=1)
    server.wait_ready()
    replies: dict[str, tuple[Reply, float]] = {}

    def send(name: str, body: bytes) -> None:
        started = time.monotonic()
        replies[name] = (server.invoke(body, "application/json"), time.monotonic() - started)

    threads = [threading.Thread(target=send, args=("stuck", b"[[-1, 0, 0]]"))]
    threads[0].start()
    time.sleep(0.3)  # the stuck call is running; these queue behind it
    for index in range(4):
        threads.append(threading.Thread(target=send, args=(f"queued {index}", f"[[{index}, 1, 1]]".encode())))
        threads[-1].start()
    for thread in threads:
        thread.join(30)
    for name, (reply, seconds) in replies.items():
        assert reply.status == 504, (name, reply.body)
        assert reply.json()["error"] == "RequestTimedOut"
        assert seconds < 5, (name, seconds)
    assert len(replies) == 5
    server.wait_ready(timeout=60)
    assert server.invoke(b"[[1, 2, 3]]", "application/json").json() == [[4.0, 5.0]]
    assert metric(server, "serving_worker_restarts_total") == 1
    assert server.process.alive()


def test_sigterm_with_a_full_queue_answers_every_queued_request(start_server: Callable[..., Server]) -> None:
    server = start_server(MODULE, env=batching(4, PREDICT_SECONDS="0.4"), workers=1)
    server.wait_ready()
    clients = 12
    outcomes: dict[int, str] = {}

    def send(index: int) -> None:
        try:
            reply = server.invoke(f"[[{index}, 0, 1]]".encode(), "application/json")
        except (ConnectionError, http.client.HTTPException, OSError) as error:
            outcomes[index] = f"refused {type(error).__name__}"
            return
        correct = reply.status == 200 and reply.json() == [[index + 1.0, 1.0]]
        outcomes[index] = "ok" if correct else f"bad {reply.status} {reply.body[:80]!r}"

    threads = [threading.Thread(target=send, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    deadline = time.monotonic() + 20
    # All of them inside the worker (the scrape itself is one more in flight): 3 batches queued.
    while metric(server, "serving_in_flight_requests") < clients + 1:
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    assert server.stop() == 0
    for thread in threads:
        thread.join(30)
    assert outcomes == {index: "ok" for index in range(clients)}


def test_random_requests_to_a_batching_server_get_only_2xx_or_4xx(start_server: Callable[..., Server]) -> None:
    server = start_server(MODULE, env=batching(16), workers=1)
    server.wait_ready()
    rng = np.random.default_rng(17)
    bodies: list[tuple[bytes, str]] = []
    for index in range(120):
        width = int(rng.integers(0, 5))
        # Non-negative: batch_model.py treats a first value of -1 or -2 as "hang" or "crash".
        shape = (int(rng.integers(0, 4)), width)
        rows = rng.uniform(0, 10, size=shape).astype(rng.choice(["float32", "float64", "int64"]))
        content_type = CONTENT_TYPES[index % 3]
        body = encode(rows, content_type) if rows.size else b"[]"
        if index % 5 == 4:
            body = body[: int(rng.integers(0, max(1, len(body))))]  # truncated
        bodies.append((body, content_type))

    def one(item: tuple[bytes, str]) -> str | None:
        reply = server.invoke(*item)
        if not 200 <= reply.status < 500:
            return f"{reply.status} {reply.body[:120]!r} for {item[0][:60]!r}"
        return None

    with ThreadPoolExecutor(max_workers=12) as pool:
        problems = [problem for problem in pool.map(one, bodies) if problem]
    assert problems == []
    assert server.invoke(b"[[1, 2, 3]]", "application/json").json() == [[4.0, 5.0]]


def test_a_batching_model_keeps_real_threads_and_subprocesses(start_server: Callable[..., Server]) -> None:
    server = start_server("threaded_model.py", env=batching(16), workers=1)
    server.wait_ready()

    def one(index: int) -> str | None:
        rows = rows_for(index)
        reply = server.invoke(npy_bytes(rows), "application/x-npy", "application/x-npy")
        if reply.status != 200:
            return f"{index}: {reply.status} {reply.body[:200]!r}"
        answer = decode_body(reply.body, "application/x-npy").reshape(len(rows), -1)
        return None if np.allclose(answer, rows @ WEIGHTS, rtol=1e-4) else f"{index}: got {answer.tolist()}"

    with ThreadPoolExecutor(max_workers=16) as pool:
        problems = [problem for problem in pool.map(one, range(200)) if problem]
    assert problems == []
