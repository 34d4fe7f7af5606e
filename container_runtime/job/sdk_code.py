"""Running code that arrived the SDK v3 way (`config.sdk_drivers`) with the job's usual blocks.

The SDK's driver runs `python <entry_script> <args>` for a `.py`, the script itself for a
`.sh`, or `eval` of `command`; `train` runs the same programs as argv, from the `code`
channel, under its own supervision. `$NAME` and `${NAME}` in a command are expanded from the
script's environment (the one thing of the shell such commands rely on, `--data $SM_CHANNEL_TRAIN`).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence

from container_runtime.config.sdk_drivers import DriverSource
from container_runtime.errors import UserCodeError
from container_runtime.log import get_logger
from container_runtime.usercode.archive import extract_tar_safely
from container_runtime.usercode.entry_point import EntryPoint, EntryPointKind, resolve_entry_point
from container_runtime.usercode.install import pip_install_command

logger = get_logger(__name__)
_VARIABLE = re.compile(r"\$(?:\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def driver_entry_point(driver: DriverSource) -> EntryPoint:
    """Unpack the code archive when the SDK sent one, then find what runs."""
    code_dir = driver.code_dir
    if not code_dir.is_dir():
        raise UserCodeError(f"the SDK v3 code channel {code_dir} does not exist (sourcecode.json names code to run)")
    if driver.archive is not None:
        count = extract_tar_safely(code_dir / driver.archive, code_dir)
        logger.info("Unpacked %s (%d entries) in %s", driver.archive, count, code_dir)
    if driver.command:
        return EntryPoint(name=driver.command[0], kind=EntryPointKind.COMMAND, code_dir=code_dir)
    assert driver.entry_script is not None  # load_driver_source requires one of the two
    entry = resolve_entry_point(code_dir, driver.entry_script)
    # The SDK runs a .py as a program even beside a setup.py, and installs nothing unless told.
    kind = EntryPointKind.PYTHON_PROGRAM if driver.entry_script.endswith(".py") else EntryPointKind.COMMAND
    return entry._replace(kind=kind)


def driver_install_command(driver: DriverSource, python: str) -> list[str] | None:
    """`pip install -r <requirements>` when sourcecode.json names a requirements file."""
    if driver.requirements is None:
        return None
    if not (driver.code_dir / driver.requirements).is_file():
        raise UserCodeError(
            f"requirements file {driver.requirements!r} (sourcecode.json) not found in {driver.code_dir}"
        )
    return pip_install_command(python, "-r", driver.requirements)


def expand_variables(words: Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """`$NAME`/`${NAME}` replaced by the variable's value (empty when unset, as a shell does)."""

    def value(match: re.Match[str]) -> str:
        return environ.get(match.group(1) or match.group(2), "")

    return [_VARIABLE.sub(value, word) for word in words]
