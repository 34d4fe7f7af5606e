"""What kind of entry point the user gave, and the argv that runs it (never a shell string)."""

from __future__ import annotations

import enum
import os
import stat
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

from container_runtime.errors import UserCodeError

PACKAGE_MARKERS = ("setup.py", "pyproject.toml")


class EntryPointKind(enum.Enum):
    COMMAND = "command"
    PYTHON_PACKAGE = "python package"
    PYTHON_PROGRAM = "python program"


class EntryPoint(NamedTuple):
    name: str
    kind: EntryPointKind
    code_dir: Path

    @property
    def path(self) -> Path:
        return self.code_dir / self.name

    @property
    def module(self) -> str:
        """`pkg/train.py` runs as `python -m pkg.train`."""
        stem = self.name[:-3] if self.name.endswith(".py") else self.name
        return stem.replace("/", ".")


def detect_kind(code_dir: Path, name: str) -> EntryPointKind:
    """`.sh` is a command; a code dir with setup.py/pyproject.toml is a package; `.py` a program."""
    if name.endswith(".sh"):
        return EntryPointKind.COMMAND
    if any((code_dir / marker).is_file() for marker in PACKAGE_MARKERS):
        return EntryPointKind.PYTHON_PACKAGE
    if name.endswith(".py"):
        return EntryPointKind.PYTHON_PROGRAM
    return EntryPointKind.COMMAND


def resolve_entry_point(code_dir: Path, name: str) -> EntryPoint:
    """Find the entry point and check that it stays inside the code dir."""
    entry = EntryPoint(name=name, kind=detect_kind(code_dir, name), code_dir=code_dir)
    if entry.kind is EntryPointKind.PYTHON_PACKAGE:
        if not all(part.isidentifier() for part in entry.module.split(".")):
            raise UserCodeError(f"entry point {name!r}: {entry.module!r} is not a Python module name")
        return entry
    real_code_dir = code_dir.resolve()
    real_path = entry.path.resolve()
    if not real_path.is_relative_to(real_code_dir):
        raise UserCodeError(f"entry point {name!r} resolves to {real_path}, outside the code dir {code_dir}")
    if not real_path.is_file():
        raise UserCodeError(f"entry point {name!r} not found in {code_dir}{_listing(code_dir)}")
    return entry


def entry_point_command(
    entry: EntryPoint, args: Sequence[str], python: str, python_launcher: Sequence[str] = ()
) -> list[str]:
    """The argv that runs the entry point with `args`, from the code dir.

    `python_launcher` runs Python entry points through a launcher module, such as
    `("-m", "mpi4py")`; then the script is named without the `--` end-of-options marker.
    """
    if entry.kind is EntryPointKind.PYTHON_PROGRAM:
        marker = [] if python_launcher else ["--"]
        return [python, *python_launcher, *marker, entry.name, *args]
    if entry.kind is EntryPointKind.PYTHON_PACKAGE:
        return [python, *python_launcher, "-m", entry.module, *args]
    path = entry.path
    _make_executable(path)
    if _runs_by_itself(path):
        return [str(path), *args]
    # A script without `#!` is what `sh` runs, as the SageMaker toolkit did through `sh -c`.
    return ["/bin/sh", str(path), *args]


def _make_executable(path: Path) -> None:
    mode = path.stat().st_mode
    wanted = mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH
    if wanted != mode:
        try:
            os.chmod(path, wanted)
        except OSError as error:
            raise UserCodeError(f"entry point {path} cannot be made executable: {error.strerror}") from error


def _runs_by_itself(path: Path) -> bool:
    """A `#!` script or an ELF binary can be executed directly."""
    with path.open("rb") as file:
        head = file.read(4)
    return head.startswith(b"#!") or head == b"\x7fELF"


def _listing(code_dir: Path) -> str:
    try:
        names = sorted(entry.name for entry in code_dir.iterdir())
    except OSError:
        return " (the code dir does not exist)"
    if not names:
        return " (the code dir is empty)"
    shown = ", ".join(names[:10]) + (", ..." if len(names) > 10 else "")
    return f" (it holds: {shown})"
