"""Strict typing and lint are part of the suite, so CI enforces them on every change."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
#: What tox's lint environment checks too (tox.ini [testenv:lint]): keep the two in step.
PACKAGE_DIRS = ("container_runtime", "frameworks/chainer/container_runtime_chainer",
                "frameworks/tensorflow/container_runtime_tensorflow")
LINTED_DIRS = ("container_runtime", "frameworks", "test", "benchmarks", "examples", "dockerfiles", "setup.py")


def run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *command], cwd=REPO, capture_output=True, text=True, timeout=600)


def test_mypy_strict_on_the_package() -> None:
    result = run("mypy", "--strict", *PACKAGE_DIRS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_lint() -> None:
    result = run("ruff", "check", *LINTED_DIRS)
    assert result.returncode == 0, result.stdout + result.stderr


def test_tox_lint_checks_what_this_suite_checks() -> None:
    import configparser

    tox = configparser.ConfigParser()
    tox.read(REPO / "tox.ini")
    commands = [line.split() for line in tox["testenv:lint"]["commands"].strip().splitlines()]
    assert commands == [["mypy", "--strict", *PACKAGE_DIRS], ["ruff", "check", *LINTED_DIRS]]
