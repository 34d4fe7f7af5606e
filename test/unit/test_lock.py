"""The lock (requirements/constraints.txt) and setup.py agree.

setup.py keeps ranges for users who install the library into their own environments; the lock
pins what the README's commands, .ci/run and the images install. When the two drift apart, a
fresh install either breaks (a pin outside a range makes pip refuse) or silently runs with an
unpinned package (a requirement missing from the lock): both are caught here, before CI.
"""

from __future__ import annotations

import runpy
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "requirements" / "constraints.txt"
LOCK_INPUTS = REPO / "requirements" / "lock.in"
#: The Pythons the lock is resolved for (requirements/update.sh: --universal from 3.10).
SUPPORTED_PYTHONS = ("3.10", "3.11", "3.12")


class Pin:
    def __init__(self, line_number: int, requirement: Requirement) -> None:
        self.line_number = line_number
        self.name = canonicalize_name(requirement.name)
        specifiers = list(requirement.specifier)
        if len(specifiers) != 1 or specifiers[0].operator != "==" or "*" in specifiers[0].version:
            raise AssertionError(f"{LOCK.name}:{line_number}: {requirement} is not an exact pin (name==version)")
        self.version = Version(specifiers[0].version)
        self.marker: Marker | None = requirement.marker

    def applies_to(self, python: str) -> bool:
        return self.marker is None or self.marker.evaluate(
            {"python_version": python, "python_full_version": f"{python}.0", "sys_platform": "linux",
             "platform_system": "Linux", "platform_machine": "x86_64", "extra": ""}
        )


def lock_pins() -> list[Pin]:
    pins = []
    for number, raw in enumerate(LOCK.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if line:
            pins.append(Pin(number, Requirement(line)))
    return pins


def setup_requirements() -> dict[str, list[Requirement]]:
    """setup.py's install_requires and every extra, read by running setup.py with setup() captured."""
    captured: dict[str, Any] = {}

    def capture(**arguments: Any) -> None:
        captured.update(arguments)

    import setuptools

    original = setuptools.setup
    setuptools.setup = capture  # type: ignore[assignment]
    try:
        runpy.run_path(str(REPO / "setup.py"), run_name="__main__")
    finally:
        setuptools.setup = original  # type: ignore[assignment]
    groups = {"install_requires": [Requirement(text) for text in captured["install_requires"]]}
    for extra, texts in captured["extras_require"].items():
        groups[f"extra {extra!r}"] = [Requirement(text) for text in texts]
    return groups


def lock_input_requirements() -> list[Requirement]:
    lines = (line.split("#", 1)[0].strip() for line in LOCK_INPUTS.read_text(encoding="utf-8").splitlines())
    return [Requirement(line) for line in lines if line]


def declared() -> Iterator[tuple[str, Requirement]]:
    for group, requirements in setup_requirements().items():
        for requirement in requirements:
            yield f"setup.py {group}", requirement
    for requirement in lock_input_requirements():
        yield LOCK_INPUTS.name, requirement


def test_every_line_of_the_lock_is_an_exact_pin_once_per_python() -> None:
    pins = lock_pins()
    assert len(pins) > 50
    for python in SUPPORTED_PYTHONS:
        seen: dict[str, Pin] = {}
        for pin in pins:
            if pin.applies_to(python):
                assert pin.name not in seen, (
                    f"{LOCK.name}:{pin.line_number}: {pin.name} is pinned twice for Python {python}"
                    f" (also line {seen[pin.name].line_number})"
                )
                seen[pin.name] = pin


@pytest.mark.parametrize("python", SUPPORTED_PYTHONS)
def test_every_declared_requirement_is_pinned_inside_its_range(python: str) -> None:
    pins = {pin.name: pin for pin in lock_pins() if pin.applies_to(python)}
    problems = []
    for where, requirement in declared():
        name = canonicalize_name(requirement.name)
        pin = pins.get(name)
        if pin is None:
            problems.append(f"{where}: {requirement} is missing from {LOCK.name} (Python {python})")
        elif not requirement.specifier.contains(pin.version, prereleases=True):
            problems.append(
                f"{where}: {requirement} does not allow {LOCK.name}:{pin.line_number}'s {name}=={pin.version}"
            )
    assert not problems, "\n".join(problems) + "\nRefresh the lock: sh requirements/update.sh"


def test_the_project_itself_is_not_in_the_lock() -> None:
    """pip refuses a constraint on the package being installed from a path."""
    assert "container-runtime" not in {pin.name for pin in lock_pins()}


def test_the_running_interpreter_is_one_the_lock_covers() -> None:
    assert f"{sys.version_info.major}.{sys.version_info.minor}" in SUPPORTED_PYTHONS


def test_everything_the_readme_and_ci_install_goes_through_the_lock() -> None:
    """Every pip install in the README's two commands, .ci/run and the image scripts names the lock."""
    readme_commands = [
        line for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()[:15] if "pip install" in line
    ]
    assert len(readme_commands) == 2
    ci_run = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands[1] in ci_run, ".ci/run must run exactly the README's test command"
    sources = {"README.md": "\n".join(readme_commands), ".ci/run": ci_run}
    for script in ("install-system.sh", "install-python-packages.sh"):
        sources[f"dockerfiles/{script}"] = (REPO / "dockerfiles" / script).read_text(encoding="utf-8")
    for source, text in sources.items():
        for segment in text.replace("&&", "\n").splitlines():
            if "pip install" in segment and not segment.lstrip().startswith("#"):
                assert "constraints.txt" in segment or "$CONSTRAINTS" in segment, (
                    f"{source}: this pip install bypasses the lock: {segment.strip()}"
                )
