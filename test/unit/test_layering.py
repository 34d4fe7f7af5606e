"""Layering and import hygiene for the whole tree.

Every module belongs to a layer (a package, or a top-level module such as `errors`); `ALLOWED`
says which layers each one may import. The test fails on any import outside the table, lazy
ones (inside functions) and `importlib.import_module("...")` included, and on any import cycle
between modules. Mechanism (`process`, `cluster`, `artifacts`) never imports policy. Importing
the `train` CLI stays cheap and free of side effects.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
#: Import name -> directory of every package this repository installs.
ROOTS = {
    "container_runtime": REPO / "container_runtime",
    "container_runtime_chainer": REPO / "frameworks" / "chainer" / "container_runtime_chainer",
    "container_runtime_tensorflow": REPO / "frameworks" / "tensorflow" / "container_runtime_tensorflow",
}
#: Layers that are a subpackage of another layer: a module belongs to the longest prefix that is a layer.
NESTED_LAYERS = (
    "container_runtime.local.cli", "container_runtime.local.dashboard", "container_runtime.local.transform",
    "container_runtime.local.tuning",
)

CR = "container_runtime"
#: Layer -> the layers it may import (its own modules always). Read top-down: nothing may point up.
ALLOWED: dict[str, frozenset[str]] = {
    name: frozenset(f"{CR}.{layer}" if not layer.startswith(CR) else layer for layer in layers)
    for name, layers in {
        # Leaves.
        f"{CR}.log": (),
        f"{CR}.errors": (),
        f"{CR}.plugins": ("errors",),
        # Mechanism: knows nothing of jobs, configs' meaning, frameworks or local mode.
        f"{CR}.process": ("log",),
        f"{CR}.artifacts": ("log", "errors"),
        # Reading the job's inputs.
        f"{CR}.config": ("errors", "log", "plugins"),
        f"{CR}.environment": ("config", "errors"),
        f"{CR}.usercode": ("errors", "log"),
        # Jobs across hosts (mechanism for several hosts: sshd, the master-worker link).
        f"{CR}.cluster": ("config", "errors", "log", "process"),
        # One job's blocks, then the launchers, then the flow.
        f"{CR}.job": ("config", "environment", "errors", "log", "process", "usercode"),
        f"{CR}.launch": ("cluster", "config", "errors", "job", "log", "process", "usercode"),
        f"{CR}.training": ("artifacts", "config", "errors", "job", "launch", "log", "process"),
        f"{CR}.serving": ("config", "errors", "log", "plugins", "process", "usercode"),
        f"{CR}.cli": ("config", "errors", "job", "log", "process", "serving", "training"),
        # Framework adapters: plug-ins on top of the core's blocks.
        "container_runtime_chainer": ("config", "errors", "job", "launch", "log", "process", "serving", "usercode"),
        "container_runtime_tensorflow": ("config", "errors", "job", "launch", "log", "process", "serving", "usercode"),
        # Local mode: runs the runtime's commands on this machine; talks to the core through the
        # process handle and the contract's files, never through the training flow.
        # The estimator and the package's lazy exports hand out the transform layer's `Transformer`,
        # which uses local mode's endpoints, S3 and presets: modules never import in a cycle (below).
        f"{CR}.local": ("config", "errors", "log", "plugins", "process", "local.transform"),
        f"{CR}.local.transform": ("errors", "log", "local"),
        f"{CR}.local.tuning": ("errors", "log", "local"),
        # The dashboard: pages over local mode's and tuning's records.
        f"{CR}.local.dashboard": ("errors", "local", "local.tuning"),
        f"{CR}.local.cli": ("errors", "log", "local", "local.dashboard", "local.transform", "local.tuning"),
        # The SageMaker SDK's import paths, mapped onto local mode.
        f"{CR}.sdk": ("errors", "local", "local.transform", "local.tuning"),
    }.items()
}
#: Packages that are mechanism: they may never import a policy layer.
MECHANISM = (f"{CR}.process", f"{CR}.cluster", f"{CR}.artifacts")
POLICY = (f"{CR}.job", f"{CR}.launch", f"{CR}.training", f"{CR}.serving", f"{CR}.cli", f"{CR}.local",
          "container_runtime_chainer", "container_runtime_tensorflow")


def module_files() -> Iterator[tuple[str, Path]]:
    """(module name, file) of every module the repository installs."""
    for root, directory in ROOTS.items():
        for path in sorted(directory.rglob("*.py")):
            parts = [root, *path.relative_to(directory).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            yield ".".join(parts), path


MODULES = dict(module_files())


def imported_modules(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, absolute module name) of every import in `path`, including lazy ones in functions
    and `importlib.import_module("...")` / `__import__("...")` with a literal name. `from P import
    name` counts as importing P.name when that is a module of ours, else P."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            members = [f"{target}.{alias.name}" for alias in node.names if f"{target}.{alias.name}" in MODULES]
            found.extend((node.lineno, member) for member in members)
            if len(members) < len(node.names):
                found.append((node.lineno, target))
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            if name in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                found.append((node.lineno, node.args[0].value))
    return found


def layer_of(module: str) -> str | None:
    """The layer a module of ours belongs to; None for other distributions' modules and the bare namespace."""
    if module.split(".")[0] not in ROOTS or module == CR:
        return None
    for nested in NESTED_LAYERS:
        if module == nested or module.startswith(nested + "."):
            return nested
    parts = module.split(".")
    return ".".join(parts[:2]) if parts[0] == CR else parts[0]


def our_imports(module: str) -> list[tuple[int, str]]:
    return [(line, target) for line, target in imported_modules(MODULES[module], module) if layer_of(target)]


def test_every_layer_of_the_tree_is_in_the_table() -> None:
    layers = {layer_of(module) for module in MODULES} - {None}
    assert layers - set(ALLOWED) == set(), "add these layers to ALLOWED"
    assert set(ALLOWED) - layers == set(), "ALLOWED names layers that no longer exist"


def test_mechanism_never_imports_policy() -> None:
    for mechanism in MECHANISM:
        assert not ALLOWED[mechanism] & set(POLICY), mechanism


@pytest.mark.parametrize("module", sorted(MODULES))
def test_imports_follow_the_table(module: str) -> None:
    own = layer_of(module)
    if own is None:  # the bare `container_runtime` package: empty, so importing it costs nothing
        assert our_imports(module) == []
        return
    offending = [
        f"line {line}: {target} (layer {layer_of(target)})"
        for line, target in our_imports(module)
        if layer_of(target) != own and layer_of(target) not in ALLOWED[own]
    ]
    assert offending == [], f"{MODULES[module].relative_to(REPO)} imports outside what {own} may import"


def test_no_import_cycles_between_modules() -> None:
    graph = {module: sorted({target for _, target in our_imports(module) if target in MODULES}) for module in MODULES}
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    stack: list[str] = []

    def visit(module: str) -> list[str] | None:
        state[module] = 1
        stack.append(module)
        for target in graph[module]:
            if state.get(target) == 1:
                return stack[stack.index(target):] + [target]
            if target not in state and (cycle := visit(target)):
                return cycle
        stack.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state and (cycle := visit(module)):
            pytest.fail("import cycle: " + " -> ".join(cycle))


@pytest.mark.parametrize(
    "source, expected",
    [
        pytest.param("import container_runtime.config", f"{CR}.config", id="absolute-import"),
        pytest.param("from container_runtime.errors import ConfigError", f"{CR}.errors", id="from-import"),
        pytest.param("from container_runtime import config", f"{CR}.config", id="from-package-import-member"),
        pytest.param("from .. import errors", f"{CR}.errors", id="relative-parent"),
        pytest.param("from ..config import x", f"{CR}.config", id="relative-sibling-package"),
        pytest.param("def f():\n    import container_runtime.training", f"{CR}.training", id="lazy-import"),
        pytest.param("import importlib\nimportlib.import_module('container_runtime.job')", f"{CR}.job",
                     id="import-module"),
        pytest.param("from container_runtime.process.signals import SignalInbox", None, id="own-package"),
        pytest.param("from .streaming import OutputRelay", None, id="relative-own"),
        pytest.param("import os, signal", None, id="stdlib"),
    ],
)
def test_the_checker_itself(tmp_path: Path, source: str, expected: str | None) -> None:
    path = tmp_path / "module.py"
    path.write_text(source + "\n")
    layers = {layer_of(target) for _, target in imported_modules(path, f"{CR}.process.module")} - {None}
    assert layers - {f"{CR}.process"} == ({expected} if expected else set())


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
