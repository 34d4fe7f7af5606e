"""Concurrency, graceful shutdown under traffic, and random input that must never be a 5xx."""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.serving import Server


def expected_for(row: list[float]) -> list[float]:
    return [row[0] + row[2], row[1] + row[2]]


def one_request(server: Server, index: int) -> tuple[int, bool]:
    """Returns (status, answered correctly). Every fourth request is invalid on purpose."""
    kind = index % 4
    if kind == 3:
        reply = server.invoke(b"[[1, 2", "application/json")
        return reply.status, reply.status == 400
    row = [float(index), float(index % 7), 1.5]
    if kind == 2:
        reply = server.invoke(",".join(str(v) for v in row).encode(), "text/csv", "text/csv")
        values = [float(v) for v in reply.body.decode().strip().split("\n")[0].split(",")] if reply.status == 200 else []
        return reply.status, reply.status == 200 and values == expected_for(row)
    reply = server.invoke(json.dumps([row]).encode(), "application/json")
    return reply.status, reply.status == 200 and reply.json() == [expected_for(row)]


def test_2000_requests_from_16_clients(server: Server) -> None:
    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(lambda i: one_request(server, i), range(2000)))
    wrong = [(i, status) for i, (status, correct) in enumerate(results) if not correct]
    assert wrong == []
    assert server.ping().status == 200
    assert server.process.alive()


def test_sigterm_during_traffic_loses_no_accepted_request(server: Server) -> None:
    outcomes: list[str] = []
    lock = threading.Lock()
    stop_sending = threading.Event()

    def client() -> None:
        index = 0
        while not stop_sending.is_set():
            index += 1
            row = [float(index), 0.0, 1.0]
            try:
                reply = server.invoke(json.dumps([row]).encode(), "application/json")
            except (ConnectionError, http.client.RemoteDisconnected, OSError) as error:
                # Not accepted: the listener was already closed. Never a partial answer.
                with lock:
                    outcomes.append(f"refused:{type(error).__name__}")
                time.sleep(0.01)
                continue
            with lock:
                if reply.status == 200 and reply.json() == [expected_for(row)]:
                    outcomes.append("ok")
                else:
                    outcomes.append(f"bad:{reply.status}:{reply.body[:80]!r}")

    threads = [threading.Thread(target=client) for _ in range(8)]
    for thread in threads:
        thread.start()
    time.sleep(1.0)
    exit_code = server.stop()
    stop_sending.set()
    for thread in threads:
        thread.join(30)
    assert exit_code == 0
    assert outcomes.count("ok") > 20
    assert [outcome for outcome in outcomes if outcome.startswith("bad")] == []


HEADER_TEXT = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=40)
CONTENT_TYPES = st.one_of(
    st.sampled_from(["application/json", "text/csv", "application/x-npy", "application/jsonlines", "text/plain", ""]),
    HEADER_TEXT,
)
ACCEPTS = st.one_of(st.none(), st.sampled_from(["*/*", "text/csv;q=0.2, application/json", "image/*"]), HEADER_TEXT)
BODIES = st.one_of(
    st.binary(max_size=512),
    st.builds(lambda v: json.dumps(v).encode(), st.recursive(
        st.none() | st.booleans() | st.floats(allow_nan=False) | st.integers() | st.text(max_size=5),
        lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=5), children, max_size=3),
        max_leaves=12,
    )),
    st.lists(st.lists(st.floats(width=32), min_size=0, max_size=4), max_size=4).map(
        lambda rows: "\n".join(",".join(str(v) for v in row) for row in rows).encode()
    ),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=BODIES, content_type=CONTENT_TYPES, accept=ACCEPTS)
def test_random_requests_get_only_2xx_or_4xx(server: Server, body: bytes, content_type: str, accept: Any) -> None:
    headers = {"Content-Type": content_type}
    if accept is not None:
        headers["Accept"] = accept
    reply = server.request("POST", "/invocations", body, headers)
    assert 200 <= reply.status < 500, (reply.status, reply.body)
    if reply.status >= 400:
        assert set(json.loads(reply.body)) == {"error", "message"}
