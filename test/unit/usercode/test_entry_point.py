"""Entry point kinds (contract §3.3), resolution inside the code dir, and argv (§3.5)."""

from __future__ import annotations

import stat
from collections.abc import Mapping
from pathlib import Path

import pytest

from container_runtime.errors import UserCodeError
from container_runtime.usercode.entry_point import (
    EntryPoint,
    EntryPointKind,
    detect_kind,
    entry_point_command,
    resolve_entry_point,
)

COMMAND = EntryPointKind.COMMAND
PACKAGE = EntryPointKind.PYTHON_PACKAGE
PROGRAM = EntryPointKind.PYTHON_PROGRAM
PYTHON = "/usr/bin/python3-test"


def code_dir(tmp_path: Path, files: Mapping[str, str | bytes] | None = None) -> Path:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    for name, content in (files or {}).items():
        path = code / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return code


@pytest.mark.parametrize(
    "markers, name, expected",
    [
        pytest.param([], "train.py", PROGRAM, id="py-program"),
        pytest.param([], "pkg/train.py", PROGRAM, id="nested-py-program"),
        pytest.param([], "run.sh", COMMAND, id="sh-command"),
        pytest.param([], "train", COMMAND, id="no-extension-command"),
        pytest.param([], "train.bash", COMMAND, id="bash-command"),
        pytest.param([], "train.PY", COMMAND, id="upper-case-py-is-command"),
        pytest.param(["setup.py"], "run.sh", COMMAND, id="sh-with-setup-py-still-command"),
        pytest.param(["pyproject.toml"], "run.sh", COMMAND, id="sh-with-pyproject-still-command"),
        pytest.param(["setup.py"], "train.py", PACKAGE, id="setup-py-package"),
        pytest.param(["pyproject.toml"], "train.py", PACKAGE, id="pyproject-package"),
        pytest.param(["setup.py", "pyproject.toml"], "train.py", PACKAGE, id="both-markers"),
        pytest.param(["setup.py"], "train", PACKAGE, id="package-module-without-py"),
        pytest.param(["setup.py/"], "train.py", PROGRAM, id="setup-py-directory-is-not-a-marker"),
        pytest.param(["sub/setup.py"], "train.py", PROGRAM, id="nested-setup-py-is-not-a-marker"),
        pytest.param(["setup.cfg"], "train.py", PROGRAM, id="setup-cfg-alone-is-not-a-marker"),
    ],
)
def test_detect_kind(tmp_path: Path, markers: list[str], name: str, expected: EntryPointKind) -> None:
    code = code_dir(tmp_path)
    for marker in markers:
        path = code / marker.rstrip("/")
        if marker.endswith("/"):
            path.mkdir(parents=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("")
    assert detect_kind(code, name) is expected


@pytest.mark.parametrize(
    "files, name, kind",
    [
        pytest.param({"train.py": ""}, "train.py", PROGRAM, id="program"),
        pytest.param({"scripts/run.sh": ""}, "scripts/run.sh", COMMAND, id="nested-command"),
        pytest.param({"setup.py": ""}, "pkg/train.py", PACKAGE, id="package-need-not-exist"),
    ],
)
def test_resolve_entry_point(tmp_path: Path, files: dict[str, str], name: str, kind: EntryPointKind) -> None:
    code = code_dir(tmp_path, files)
    entry = resolve_entry_point(code, name)
    assert (entry.name, entry.kind, entry.code_dir, entry.path) == (name, kind, code, code / name)


@pytest.mark.parametrize(
    "files, name, expected",
    [
        pytest.param(
            {"b.py": "", "a.txt": "", "sub/c.py": ""},
            "train.py",
            "entry point 'train.py' not found in {code} (it holds: a.txt, b.py, sub)",
            id="missing-lists-files",
        ),
        pytest.param(
            {}, "train.py", "entry point 'train.py' not found in {code} (the code dir is empty)", id="missing-empty-dir"
        ),
        pytest.param(
            {f"f{i:02}.py": "" for i in range(12)},
            "train.py",
            "(it holds: f00.py, f01.py, f02.py, f03.py, f04.py, f05.py, f06.py, f07.py, f08.py, f09.py, ...)",
            id="missing-listing-truncated",
        ),
        pytest.param({"sub/x.py": ""}, "sub", "entry point 'sub' not found", id="directory-is-not-a-file"),
        pytest.param(
            {"setup.py": ""}, "my-pkg/train.py", "'my-pkg.train' is not a Python module name", id="package-bad-module"
        ),
        pytest.param({"setup.py": ""}, "1st.py", "'1st' is not a Python module name", id="package-leading-digit"),
    ],
)
def test_resolve_entry_point_errors(tmp_path: Path, files: dict[str, str], name: str, expected: str) -> None:
    code = code_dir(tmp_path, files)
    with pytest.raises(UserCodeError) as raised:
        resolve_entry_point(code, name)
    assert expected.format(code=code) in str(raised.value)


def test_resolve_entry_point_when_code_dir_does_not_exist(tmp_path: Path) -> None:
    with pytest.raises(UserCodeError, match="the code dir does not exist"):
        resolve_entry_point(tmp_path / "nope", "train.py")


@pytest.mark.parametrize(
    "target",
    [
        pytest.param("outside", id="absolute-target"),
        pytest.param("../outside", id="relative-target"),
    ],
)
def test_symlink_escaping_the_code_dir_is_refused(tmp_path: Path, target: str) -> None:
    code = code_dir(tmp_path)
    outside = tmp_path / "outside"
    outside.write_text("print('escaped')")
    (code / "train.py").symlink_to(outside if target == "outside" else Path(target))
    with pytest.raises(UserCodeError) as raised:
        resolve_entry_point(code, "train.py")
    message = str(raised.value)
    assert f"resolves to {outside}" in message
    assert "outside the code dir" in message


def test_symlinked_dir_escaping_the_code_dir_is_refused(tmp_path: Path) -> None:
    code = code_dir(tmp_path)
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "elsewhere" / "run.sh").write_text("echo")
    (code / "scripts").symlink_to(tmp_path / "elsewhere")
    with pytest.raises(UserCodeError, match="outside the code dir"):
        resolve_entry_point(code, "scripts/run.sh")


def test_symlink_inside_the_code_dir_is_accepted(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"real/train.py": ""})
    (code / "train.py").symlink_to("real/train.py")
    assert resolve_entry_point(code, "train.py").kind is PROGRAM


def test_code_dir_itself_reached_through_a_symlink_is_fine(tmp_path: Path) -> None:
    real = code_dir(tmp_path, {"train.py": ""})
    link = tmp_path / "link"
    link.symlink_to(real)
    assert resolve_entry_point(link, "train.py").path == link / "train.py"


# --------------------------------------------------------------------------- commands


@pytest.mark.parametrize(
    "files, name, args, expected",
    [
        pytest.param(
            {"train.py": ""}, "train.py", ["--lr", "0.1"], [PYTHON, "--", "train.py", "--lr", "0.1"], id="program"
        ),
        pytest.param({"train.py": ""}, "train.py", [], [PYTHON, "--", "train.py"], id="program-no-args"),
        pytest.param({"-x.py": ""}, "-x.py", [], [PYTHON, "--", "-x.py"], id="program-dash-name-after-double-dash"),
        pytest.param({"setup.py": ""}, "train.py", ["a b"], [PYTHON, "-m", "train", "a b"], id="package"),
        pytest.param(
            {"setup.py": ""},
            "pkg/sub/train.py",
            ["--x", ""],
            [PYTHON, "-m", "pkg.sub.train", "--x", ""],
            id="package-nested",
        ),
        pytest.param({"pyproject.toml": ""}, "train", [], [PYTHON, "-m", "train"], id="package-without-py"),
        pytest.param(
            {"setup.py": ""}, "train.py.py", [], [PYTHON, "-m", "train.py"], id="package-only-one-py-stripped"
        ),
    ],
)
def test_python_commands(
    tmp_path: Path, files: dict[str, str], name: str, args: list[str], expected: list[str]
) -> None:
    code = code_dir(tmp_path, files)
    assert entry_point_command(resolve_entry_point(code, name), args, PYTHON) == expected


@pytest.mark.parametrize(
    "name, content, expected_prefix",
    [
        pytest.param("run.sh", "echo hi\n", ["/bin/sh", "{path}"], id="sh-without-shebang"),
        pytest.param("run.sh", "", ["/bin/sh", "{path}"], id="empty-sh"),
        pytest.param("run.sh", "#", ["/bin/sh", "{path}"], id="sh-one-byte"),
        pytest.param("run.sh", "#!/bin/bash\necho hi\n", ["{path}"], id="sh-with-shebang"),
        pytest.param("run.sh", "#! /usr/bin/env bash\n", ["{path}"], id="sh-with-spaced-shebang"),
        pytest.param("sub/run.sh", "echo\n", ["/bin/sh", "{path}"], id="nested-sh"),
        pytest.param("train", "#!/bin/sh\necho hi\n", ["{path}"], id="extensionless-with-shebang"),
        pytest.param("train", b"\x7fELF\x02\x01", ["{path}"], id="binary"),
    ],
)
@pytest.mark.parametrize("mode", [0o644, 0o600, 0o755], ids=["rw-r--r--", "rw-------", "rwxr-xr-x"])
def test_command_entry_points(
    tmp_path: Path, name: str, content: str | bytes, expected_prefix: list[str], mode: int
) -> None:
    code = code_dir(tmp_path, {name: content})
    path = code / name
    path.chmod(mode)
    entry = resolve_entry_point(code, name)
    assert entry.kind is COMMAND
    args = ["--a", "x y", "$HOME"]
    expected = [part.format(path=path) for part in expected_prefix] + args
    assert entry_point_command(entry, args, PYTHON) == expected
    # The exec bit is added for everyone; the other bits are kept.
    new_mode = stat.S_IMODE(path.stat().st_mode)
    assert new_mode == mode | 0o111


@pytest.mark.parametrize(
    "name, kind, module",
    [
        pytest.param("train.py", PACKAGE, "train", id="strip-py"),
        pytest.param("a/b/c.py", PACKAGE, "a.b.c", id="slashes-to-dots"),
        pytest.param("a.b", PACKAGE, "a.b", id="dots-kept"),
    ],
)
def test_entry_point_module(tmp_path: Path, name: str, kind: EntryPointKind, module: str) -> None:
    assert EntryPoint(name=name, kind=kind, code_dir=tmp_path).module == module


def test_extensionless_script_without_shebang_runs_through_sh(tmp_path: Path) -> None:
    code = code_dir(tmp_path, {"train": "echo hi\n"})
    entry = resolve_entry_point(code, "train")
    assert entry_point_command(entry, ["a"], PYTHON) == ["/bin/sh", str(code / "train"), "a"]
