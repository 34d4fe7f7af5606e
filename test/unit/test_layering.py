"""Layering and import hygiene.

`container_runtime.process` is mechanism only and must import nothing else from the package
except the leaf logger `container_runtime.log` (which itself imports nothing from it);
importing the `train` CLI must stay cheap and side-effect free.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
PROCESS_DIR = REPO / "container_runtime" / "process"
PROCESS_PACKAGE = "container_runtime.process"

#: Files that break the rule today (a strict xfail turns into a failure once they are fixed).
KNOWN_VIOLATIONS: dict[str, str] = {}
#: Leaf modules every layer may use.
LEAVES = ("container_runtime.log",)


def imported_modules(path: Path) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `path`, including lazy ones in functions
    and `importlib.import_module("...")` / `__import__("...")` with a literal name."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = PROCESS_PACKAGE  # every checked file lives directly in the process package
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.append((node.lineno, module))
            # `from container_runtime import config` imports container_runtime.config.
            if module == "container_runtime":
                found.extend((node.lineno, f"container_runtime.{alias.name}") for alias in node.names)
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def outside_process_package(module: str) -> bool:
    if module == "container_runtime" or module in LEAVES:
        return False  # the namespace itself (its members are checked separately) and leaves
    return module.startswith("container_runtime.") and not (
        module == PROCESS_PACKAGE or module.startswith(PROCESS_PACKAGE + ".")
    )


def process_files() -> list[Any]:
    files = sorted(PROCESS_DIR.glob("*.py"))
    assert files, PROCESS_DIR
    params = []
    for path in files:
        marks = []
        if path.name in KNOWN_VIOLATIONS:
            marks.append(pytest.mark.xfail(strict=True, reason=KNOWN_VIOLATIONS[path.name]))
        params.append(pytest.param(path, id=path.name, marks=marks))
    return params


@pytest.mark.parametrize("path", process_files())
def test_process_package_imports_nothing_else_from_container_runtime(path: Path) -> None:
    offending = [f"line {line}: {module}" for line, module in imported_modules(path) if outside_process_package(module)]
    assert offending == [], f"{path.relative_to(REPO)} imports outside {PROCESS_PACKAGE}"


@pytest.mark.parametrize(
    "source, expected",
    [
        pytest.param("import container_runtime.config", True, id="absolute-import"),
        pytest.param("from container_runtime.errors import ConfigError", True, id="from-import"),
        pytest.param("from container_runtime import config", True, id="from-package-import-member"),
        pytest.param("from .. import errors", True, id="relative-parent"),
        pytest.param("from ..config import x", True, id="relative-sibling-package"),
        pytest.param("def f():\n    import container_runtime.config", True, id="lazy-import"),
        pytest.param("import importlib\nimportlib.import_module('container_runtime.config')", True, id="import-module"),
        pytest.param("from container_runtime.process.signals import SignalInbox", False, id="own-package"),
        pytest.param("from .streaming import OutputRelay", False, id="relative-own"),
        pytest.param("from . import signals", False, id="relative-own-package"),
        pytest.param("import os, signal", False, id="stdlib"),
    ],
)
def test_the_checker_itself(tmp_path: Path, source: str, expected: bool) -> None:
    path = tmp_path / "module.py"
    path.write_text(source + "\n")
    assert any(outside_process_package(module) for _, module in imported_modules(path)) is expected


FORBIDDEN_AT_IMPORT = ("boto3", "botocore", "numpy", "isal", "tarfile", "psutil", "chainer", "tensorflow", "moto")

PROBE = """
import json, os, sys
before = dict(os.environ)
import container_runtime.cli.train
print(json.dumps({"modules": sorted(sys.modules), "environ_unchanged": dict(os.environ) == before}))
"""


def all_paths(root: Path) -> set[str]:
    return {str(path.relative_to(root)) for path in root.rglob("*")}


def test_importing_the_train_cli_is_light_and_side_effect_free(tmp_path: Path) -> None:
    home, cwd = tmp_path / "home", tmp_path / "cwd"
    home.mkdir()
    cwd.mkdir()
    env = {**os.environ, "HOME": str(home)}
    env.pop("SAGEMAKER_BASE_DIR", None)
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    modules = set(report["modules"])
    assert "container_runtime.cli.train" in modules
    heavy = sorted(
        module for module in modules for name in FORBIDDEN_AT_IMPORT if module == name or module.startswith(name + ".")
    )
    assert heavy == []
    assert report["environ_unchanged"] is True
    assert all_paths(home) == set()
    assert all_paths(cwd) == set()
    assert all_paths(tmp_path) == {"home", "cwd"}


def test_leaf_logger_imports_nothing_from_the_package() -> None:
    log_module = REPO / "container_runtime" / "log.py"
    tree = ast.parse(log_module.read_text(encoding="utf-8"))
    imported = [
        node.module or "" for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
    ] + [alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names]
    assert not [name for name in imported if name.startswith("container_runtime")]
