"""Shared fixtures: a fresh job base dir per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.jobs import JobDir


@pytest.fixture
def job(tmp_path: Path) -> JobDir:
    return JobDir.create(tmp_path)
