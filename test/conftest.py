"""Shared fixtures: a fresh job base dir per test; the infrastructure comes from the harness plugin."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.jobs import JobDir

#: dockerd, images, S3, PostgreSQL, namespace hosts: see test/harness/README.md.
pytest_plugins = ["harness.plugin"]


@pytest.fixture
def job(tmp_path: Path) -> JobDir:
    return JobDir.create(tmp_path)
