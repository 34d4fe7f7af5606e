"""The pip commands that install the user's dependencies, with the running interpreter."""

from __future__ import annotations

from container_runtime.usercode.entry_point import EntryPoint, EntryPointKind

REQUIREMENTS_FILE = "requirements.txt"
_PIP = ("-m", "pip", "install", "--disable-pip-version-check", "--no-input")


def pip_install_command(python: str, *arguments: str) -> list[str]:
    """`python -m pip install ...` with the runtime's quiet, non-interactive flags."""
    return [python, *_PIP, *arguments]


def install_command(entry: EntryPoint, python: str) -> list[str] | None:
    """`pip install .` for a package, `pip install -r requirements.txt` for a program with one."""
    requirements = entry.code_dir / REQUIREMENTS_FILE
    has_requirements = requirements.is_file()
    if entry.kind is EntryPointKind.PYTHON_PACKAGE:
        command = pip_install_command(python, ".")
        if has_requirements:
            command += ["-r", REQUIREMENTS_FILE]
        return command
    if has_requirements:
        return pip_install_command(python, "-r", REQUIREMENTS_FILE)
    return None
