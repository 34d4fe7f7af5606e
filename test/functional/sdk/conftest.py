"""What the SDK-layer tests share: a local-mode home per test that no endpoint outlives."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from container_runtime.local.endpoints import list_endpoints, stop_endpoint


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Local mode's home for this test (jobs, endpoints, the data store), with no S3 server unless the test sets one."""
    home = tmp_path / "home"
    monkeypatch.setenv("CONTAINER_RUNTIME_HOME", str(home))
    monkeypatch.delenv("S3_ENDPOINT_URL", raising=False)
    yield home
    for record in list_endpoints(home / "endpoints"):
        stop_endpoint(record.name, home / "endpoints")
