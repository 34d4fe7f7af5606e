"""Strict typing and lint are part of the suite, so CI enforces them on every change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_mypy_strict_on_the_package() -> None:
    result = run("mypy", "--strict", "container_runtime", "frameworks", "local_mode")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint() -> None:
    result = run("ruff", "check", "container_runtime", "frameworks", "local_mode", "test", "benchmarks", "examples")
    assert result.returncode == 0, result.stdout + result.stderr
