"""Fixtures: a model dir with a user module, and a running `serve` on it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from harness.serving import Server, make_model_dir


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    servers: list[Server] = []

    def start(module: str = "linear_model.py", env: dict[str, str] | None = None, workers: int = 2,
              prepare: bool = True) -> Server:
        if prepare:
            make_model_dir(tmp_path, module)
        environment = {"SAGEMAKER_PROGRAM": module, **(env or {})}
        server = Server(tmp_path, environment, workers=workers)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def server(start_server: Callable[..., Server]) -> Server:
    running = start_server()
    running.wait_ready()
    return running
