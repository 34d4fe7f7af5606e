"""Running SDK v3 code: variables in a `command`, the entry point's kind, requirements."""

from __future__ import annotations

from pathlib import Path

import pytest

from container_runtime.config.sdk_drivers import DriverSource
from container_runtime.errors import UserCodeError
from container_runtime.job.sdk_code import driver_entry_point, driver_install_command, expand_variables
from container_runtime.usercode.entry_point import EntryPointKind


def driver(code: Path, **fields: object) -> DriverSource:
    values: dict[str, object] = {"code_dir": code, "entry_script": None, "command": (), "requirements": None,
                                 "archive": None, "distributed": None, **fields}
    return DriverSource(**values)  # type: ignore[arg-type]


def test_variables_are_expanded_like_a_shell_and_nothing_else_is() -> None:
    environ = {"SM_CHANNEL_TRAIN": "/opt/ml/input/data/train", "N": "3"}
    words = ["--data", "$SM_CHANNEL_TRAIN", "--n=${N}x", "$UNSET", "*.py", "a;b"]
    assert expand_variables(words, environ) == ["--data", "/opt/ml/input/data/train", "--n=3x", "", "*.py", "a;b"]


def test_a_py_entry_script_is_a_program_even_beside_a_setup_py(tmp_path: Path) -> None:
    (tmp_path / "train.py").write_text("")
    (tmp_path / "setup.py").write_text("")
    entry = driver_entry_point(driver(tmp_path, entry_script="train.py"))
    assert entry.kind is EntryPointKind.PYTHON_PROGRAM


def test_a_command_is_a_command_entry(tmp_path: Path) -> None:
    entry = driver_entry_point(driver(tmp_path, command=("python", "x.py")))
    assert (entry.kind, entry.name) == (EntryPointKind.COMMAND, "python")


def test_a_missing_code_channel_or_requirements_file_is_a_user_code_error(tmp_path: Path) -> None:
    with pytest.raises(UserCodeError, match="code channel"):
        driver_entry_point(driver(tmp_path / "absent", entry_script="train.py"))
    with pytest.raises(UserCodeError, match="'reqs.txt'"):
        driver_install_command(driver(tmp_path, entry_script="train.py", requirements="reqs.txt"), "python")
    (tmp_path / "reqs.txt").write_text("")
    command = driver_install_command(driver(tmp_path, entry_script="train.py", requirements="reqs.txt"), "py")
    assert command is not None and command[0] == "py" and command[-2:] == ["-r", "reqs.txt"]
