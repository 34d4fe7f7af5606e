"""Endpoints as the dashboard shows them: the record, /ping, and totals from serve's /metrics.

The page turns the request and latency totals of two polls into a rate and a mean latency.
"""

from __future__ import annotations

import datetime
import re
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from container_runtime.local.endpoints import RECORD_FILE, EndpointRecord, endpoint_alive, ping, read_record
from container_runtime.local.errors import LocalModeError

REQUESTS = "serving_requests_total"
LATENCY_SUM = "serving_request_duration_seconds_sum"
LATENCY_COUNT = "serving_request_duration_seconds_count"
SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def list_endpoint_rows(endpoints_dir: Path) -> list[dict[str, Any]]:
    """Every endpoint record, live or not; one that cannot be read says why."""
    if not endpoints_dir.is_dir():
        return []
    rows = []
    for path in sorted(endpoints_dir.glob(f"*/{RECORD_FILE}")):
        try:
            record = read_record(path)
        except LocalModeError as error:
            rows.append({"name": path.parent.name, "status": "Unreadable", "error": str(error)})
            continue
        rows.append(endpoint_row(record))
    return rows


def endpoint_row(record: EndpointRecord) -> dict[str, Any]:
    return {
        "name": record.name, "url": record.url, "port": record.port, "pid": record.pid,
        "model_data": record.model_data, "framework": record.framework, "started": record.started,
        "backend": record.backend_name, "uptime": _uptime(record.started),
        "status": "Running" if endpoint_alive(record) else "Gone",
    }


def endpoint_status(record: EndpointRecord) -> dict[str, Any]:
    """The row plus /ping's answer and the /metrics totals (None where serve does not give them)."""
    row = endpoint_row(record)
    code, body = ping(record.port, timeout=2.0)
    row["ping"] = {"status": code, "body": body}
    row["metrics"] = scrape(record.port)
    row["time"] = time.time()
    return row


def scrape(port: int) -> dict[str, float] | None:
    try:
        with NO_PROXY.open(f"http://127.0.0.1:{port}/metrics", timeout=2.0) as response:
            text = response.read().decode(errors="replace")
    except (OSError, ValueError):
        return None
    totals = {"requests": 0.0, "latency_sum": 0.0, "latency_count": 0.0}
    for line in text.splitlines():
        sample = SAMPLE.match(line)
        if sample is None:
            continue
        name, labels, raw = sample.groups()
        if 'route="/ping"' in (labels or "") or 'route="/metrics"' in (labels or ""):
            continue  # our own polling is not traffic
        try:
            value = float(raw)
        except ValueError:
            continue
        key = {REQUESTS: "requests", LATENCY_SUM: "latency_sum", LATENCY_COUNT: "latency_count"}.get(name)
        if key is not None:
            totals[key] += value
    return totals


def invoke(record: EndpointRecord, body: bytes, content_type: str, accept: str) -> tuple[int, str, bytes]:
    """(status, content type, body) of one POST /invocations, errors included, as the page shows them."""
    request = urllib.request.Request(f"http://127.0.0.1:{record.port}/invocations", data=body, method="POST",
                                     headers={"Content-Type": content_type, "Accept": accept})
    try:
        with NO_PROXY.open(request, timeout=60) as response:
            return int(response.status), response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), error.headers.get("Content-Type", ""), error.read()
    except OSError as error:
        return 502, "text/plain", f"endpoint {record.name} did not answer: {error}".encode()


def _uptime(started: str) -> float | None:
    try:
        moment = datetime.datetime.fromisoformat(started)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return max(0.0, time.time() - moment.timestamp())
