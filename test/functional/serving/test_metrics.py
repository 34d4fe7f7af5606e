"""GET /metrics: Prometheus text merged across workers, right after a known request mix, and
scraped without gaps while workers die and are replaced."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from harness.serving import Server

GOOD = b"[[1, 2, 3]]"


def samples(server: Server) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    reply = server.request("GET", "/metrics")
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): float(sample.value)
        for family in text_string_to_metric_families(reply.body.decode())
        for sample in family.samples
    }


def value(found: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def worker_pids(base: Path) -> list[int]:
    """The workers that loaded the model (linear_model.py logs each model_fn's pid)."""
    return [int(pid) for pid in (base / "model" / "loads.log").read_text().split()]


def test_values_after_a_known_request_mix(start_server: Callable[..., Server]) -> None:
    server = start_server(workers=2)
    server.wait_ready()
    for _ in range(10):
        assert server.invoke(GOOD, "application/json").status == 200
    for _ in range(3):
        assert server.invoke(b"[[1, 2", "application/json").status == 400
    for _ in range(2):
        assert server.invoke(GOOD, "text/plain").status == 415
    assert server.request("GET", "/nowhere").status == 404
    found = samples(server)
    assert value(found, "serving_requests_total", route="/invocations", status="200") == 10
    assert value(found, "serving_requests_total", route="/invocations", status="400") == 3
    assert value(found, "serving_requests_total", route="/invocations", status="415") == 2
    assert value(found, "serving_requests_total", route="other", status="404") == 1
    assert value(found, "serving_request_duration_seconds_count", route="/invocations") == 15
    assert value(found, "serving_request_duration_seconds_bucket", route="/invocations", le="+Inf") == 15
    assert value(found, "serving_model_load_seconds_count") == 2
    assert value(found, "serving_in_flight_requests") == 1  # this scrape
    assert value(found, "serving_worker_restarts_total") == 0
    assert value(found, "serving_batch_size_requests_count") == 0  # batching is off by default


def test_batch_and_queue_metrics(start_server: Callable[..., Server]) -> None:
    env = {"SAGEMAKER_MODEL_SERVER_MAX_BATCH_SIZE": "8"}
    server = start_server("batch_model.py", env=env, workers=1)
    server.wait_ready()
    assert server.invoke(b"[[1, 2, 3], [4, 5, 6]]", "application/json").status == 200
    assert server.invoke(b"[[1, 2, 3]]", "application/json").status == 200
    found = samples(server)
    assert value(found, "serving_batch_size_requests_count") == 2
    assert value(found, "serving_batch_size_requests_sum") == 2
    assert value(found, "serving_batch_size_rows_sum") == 3
    assert value(found, "serving_queue_wait_seconds_count") == 2
    assert value(found, "serving_batch_latency_seconds_count") == 2
    assert value(found, "serving_model_call_seconds_count") == 2
    assert 0 < value(found, "serving_model_call_seconds_sum") <= value(found, "serving_batch_latency_seconds_sum")


def test_scraping_while_workers_die_and_are_replaced(start_server: Callable[..., Server], tmp_path: Path) -> None:
    server = start_server(workers=2)
    server.wait_ready()
    for _ in range(6):
        assert server.invoke(GOOD, "application/json").status == 200
    problems: list[str] = []
    dropped: list[str] = []
    seen: list[float] = []
    stop = threading.Event()

    def scrape() -> None:
        while not stop.is_set():
            try:
                found = samples(server)
            except OSError as error:  # the scrape was on the worker just killed
                dropped.append(type(error).__name__)
                continue
            except (AssertionError, ValueError) as error:
                problems.append(f"{type(error).__name__}: {error}")
                continue
            seen.append(value(found, "serving_requests_total", route="/invocations", status="200"))

    scraper = threading.Thread(target=scrape)
    scraper.start()
    try:
        for round_number in range(3):
            scrapes_before = len(seen)
            os.kill(worker_pids(tmp_path)[round_number], signal.SIGKILL)
            deadline = time.monotonic() + 30
            # Until the replacement has loaded and at least one scrape answered meanwhile.
            while len(worker_pids(tmp_path)) < 3 + round_number or len(seen) == scrapes_before:
                assert time.monotonic() < deadline, server.log()
                time.sleep(0.05)
            server.wait_ready()
    finally:
        stop.set()
        scraper.join(30)
    assert problems == []
    assert len(dropped) <= 3
    # Counters of dead workers still count; a scrape never goes backwards.
    assert seen and seen == sorted(seen) and seen[-1] == 6
    found = samples(server)
    assert value(found, "serving_worker_restarts_total") == 3
    assert value(found, "serving_model_load_seconds_count") == 5
    assert value(found, "serving_in_flight_requests") == 1
