"""Prometheus metrics for `serve`, shared across workers with prometheus-client's multi-process mode.

Every process (master and workers) writes its samples to files in `PROMETHEUS_MULTIPROC_DIR`,
which `serve` makes per run before prometheus-client is imported; `/metrics`, answered by any
worker, merges them. The master marks a dead worker's files so its live gauges drop out while
its counters and histograms keep counting.
"""

from __future__ import annotations

from collections.abc import Callable

MULTIPROC_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"
TEXT_FORMAT = "text/plain; version=0.0.4; charset=utf-8"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512)
#: Fine below 10 ms (0.25 ms steps): the batching goal (p99 <= delay + two model calls) is read
#: from the request-duration and batch-latency histograms, which use these.
BATCH_LATENCY_BUCKETS = (
    *(step / 4000 for step in range(1, 41)), 0.015, 0.02, 0.03, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60,
)
REQUEST_LATENCY_BUCKETS = BATCH_LATENCY_BUCKETS
LOAD_BUCKETS = (0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300)


class ServingMetrics:
    """The metric objects; created lazily so importing this module costs nothing."""

    def __init__(self) -> None:
        from prometheus_client import Counter, Gauge, Histogram, multiprocess

        # Imported now, not in the master's SIGCHLD handler: a second signal arriving during that
        # first import would find the module half-initialised.
        self._mark_process_dead: Callable[[int], None] = multiprocess.mark_process_dead

        self.requests = Counter("serving_requests_total", "HTTP requests answered", ["route", "status"])
        self.latency = Histogram(
            "serving_request_duration_seconds",
            "Time to answer a request, from the worker starting it (headers read)",
            ["route"],
            buckets=REQUEST_LATENCY_BUCKETS,
        )
        self.in_flight = Gauge(
            "serving_in_flight_requests", "Requests being handled now", multiprocess_mode="livesum"
        )
        self.batch_requests = Histogram(
            "serving_batch_size_requests", "Requests combined into one model call", buckets=BATCH_BUCKETS
        )
        self.batch_rows = Histogram("serving_batch_size_rows", "Rows in one model call", buckets=BATCH_BUCKETS)
        self.queue_wait = Histogram(
            "serving_queue_wait_seconds", "Time a request waited for the model", buckets=LATENCY_BUCKETS
        )
        self.batch_latency = Histogram(
            "serving_batch_latency_seconds",
            "Time from queueing a decoded request to its prediction: queue wait plus the model call",
            buckets=BATCH_LATENCY_BUCKETS,
        )
        self.model_call = Histogram(
            "serving_model_call_seconds",
            "Time of one call into the model by the batcher (a batch, or a request run alone)",
            buckets=BATCH_LATENCY_BUCKETS,
        )
        self.model_load = Histogram(
            "serving_model_load_seconds", "Time model_fn took in a worker", buckets=LOAD_BUCKETS
        )
        self.worker_restarts = Counter(
            "serving_worker_restarts_total", "Workers started to replace one that exited"
        )

    def mark_worker_dead(self, pid: int) -> None:
        """Drop a dead worker's live gauges (master side, from gunicorn's child_exit)."""
        self._mark_process_dead(pid)

    def observe_batch(self, requests: int, rows: int) -> None:
        self.batch_requests.observe(requests)
        self.batch_rows.observe(rows)


_metrics: ServingMetrics | None = None


def serving_metrics() -> ServingMetrics:
    global _metrics
    if _metrics is None:
        _metrics = ServingMetrics()
    return _metrics


def render() -> bytes:
    """All processes' samples, merged, in Prometheus' text format."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    text: bytes = generate_latest(registry)
    return text


def route_label(path: str) -> str:
    """A bounded label for a path: the route's pattern, never the raw path."""
    if path.startswith("/v2/models/"):
        rest = path[len("/v2/models/"):]
        if rest.endswith("/infer"):
            return "/v2/models/{name}/infer"
        if rest.endswith("/ready"):
            return "/v2/models/{name}/ready"
        return "/v2/models/{name}"
    if path in KNOWN_ROUTES:
        return path
    return "other"


KNOWN_ROUTES = frozenset(
    ["/invocations", "/ping", "/execution-parameters", "/metrics", "/v2/health/live", "/v2/health/ready", "/v2"]
)
