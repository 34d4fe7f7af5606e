"""Fixtures for the dashboard's tests: one home of real records and one dashboard over it per package."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from container_runtime.local.dashboard.records import Home
from container_runtime.local.dashboard.server import make_server
from container_runtime.local.endpoints import list_endpoints, stop_endpoint
from harness.dashboard import Dashboard, Records, make_records

TOKEN = "test-token-1234"


@pytest.fixture(scope="package")
def records(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Records]:
    pytest.importorskip("optuna")
    pytest.importorskip("numpy")
    pytest.importorskip("gunicorn")
    home = tmp_path_factory.mktemp("dashboard-home")
    try:
        yield make_records(home)
    finally:
        for record in list_endpoints(home / "endpoints"):  # never leave one running
            stop_endpoint(record.name, home / "endpoints")


@pytest.fixture(scope="package")
def dashboard(records: Records) -> Iterator[Dashboard]:
    home = records.home
    server = make_server(Home(home / "jobs", home / "endpoints", home / "tuning"), "127.0.0.1", 0, TOKEN)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield Dashboard(server, TOKEN)
    finally:
        server.shutdown()
        server.server_close()
