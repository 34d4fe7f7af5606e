"""`count_gpus`: /proc/driver/nvidia/gpus, CUDA_VISIBLE_DEVICES, and nvidia-smi only as a last resort."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path

import pytest

from container_runtime.config.devices import count_gpus


class RecordingWhich:
    """A fake `which` that records each lookup and answers with a fixed path (or None)."""

    def __init__(self, answer: str | None) -> None:
        self.answer = answer
        self.calls: list[str] = []

    def __call__(self, name: str) -> str | None:
        self.calls.append(name)
        return self.answer


def fake_proc(tmp_path: Path, gpus: int | None, *, stray_file: bool = False) -> Path:
    """A proc root with `gpus` entries under driver/nvidia/gpus (None: no driver dir at all)."""
    root = tmp_path / "proc"
    root.mkdir()
    if gpus is not None:
        gpus_dir = root / "driver" / "nvidia" / "gpus"
        gpus_dir.mkdir(parents=True)
        for index in range(gpus):
            (gpus_dir / f"0000:{index:02x}:00.0").mkdir()
        if stray_file:
            (gpus_dir / "README").write_text("not a gpu")
    return root


def fake_nvidia_smi(tmp_path: Path, output: str, exit_code: int = 0) -> str:
    script = tmp_path / "nvidia-smi"
    script.write_text(
        "#!/bin/sh\n"
        '[ "$#" = 1 ] && [ "$1" = --list-gpus ] || exit 99\n'
        f"printf '%s' {shlex.quote(output)}\n"
        f"exit {exit_code}\n"
    )
    script.chmod(0o755)
    return str(script)


SMI_TWO = "GPU 0: NVIDIA H100 (UUID: GPU-aaa)\nGPU 1: NVIDIA H100 (UUID: GPU-bbb)\n"

VISIBLE_ONLY = [
    pytest.param("", 0, id="empty"),
    pytest.param(" ", 0, id="blank"),
    pytest.param("-1", 0, id="minus-one"),
    pytest.param("NoDevFiles", 0, id="NoDevFiles"),
    pytest.param("none", 0, id="none"),
    pytest.param("void", 0, id="void"),
    pytest.param("0", 1, id="one"),
    pytest.param("0,1", 2, id="two"),
    pytest.param("0, 1 ,2", 3, id="spaces"),
    pytest.param("0,-1,2", 1, id="stops-at-invalid"),
    pytest.param("0,,2", 1, id="stops-at-empty"),
    pytest.param("GPU-uuid1,GPU-uuid2", 2, id="uuids"),
    pytest.param("MIG-GPU-abc/1/0", 1, id="mig"),
    pytest.param("3,2,1,0", 4, id="reordered"),
]


@pytest.mark.parametrize("visible, expected", VISIBLE_ONLY)
def test_visible_devices_alone_is_trusted_without_nvidia_smi(tmp_path: Path, visible: str, expected: int) -> None:
    which = RecordingWhich(fake_nvidia_smi(tmp_path, SMI_TWO))
    assert count_gpus({"CUDA_VISIBLE_DEVICES": visible}, proc_root=fake_proc(tmp_path, None), which=which) == expected
    assert which.calls == []


@pytest.mark.parametrize(
    "physical, visible, expected",
    [
        pytest.param(4, None, 4, id="proc-only"),
        pytest.param(0, None, 0, id="driver-without-gpus"),
        pytest.param(4, "0,1", 2, id="visible-narrows"),
        pytest.param(1, "0,1,2", 1, id="proc-caps-visible"),
        pytest.param(8, "", 0, id="visible-hides-all"),
        pytest.param(8, "-1", 0, id="visible-minus-one"),
        pytest.param(8, "GPU-uuid1,GPU-uuid2", 2, id="visible-uuids"),
        pytest.param(8, "0,-1,2", 1, id="visible-invalid-ordinal"),
    ],
)
def test_proc_count_narrowed_by_visible_devices_without_nvidia_smi(
    tmp_path: Path, physical: int, visible: str | None, expected: int
) -> None:
    which = RecordingWhich(fake_nvidia_smi(tmp_path, SMI_TWO))
    environ = {} if visible is None else {"CUDA_VISIBLE_DEVICES": visible}
    assert count_gpus(environ, proc_root=fake_proc(tmp_path, physical), which=which) == expected
    assert which.calls == []


def test_proc_counts_only_directories(tmp_path: Path) -> None:
    which = RecordingWhich(None)
    assert count_gpus({}, proc_root=fake_proc(tmp_path, 2, stray_file=True), which=which) == 2
    assert which.calls == []


def make_which(tmp_path: Path, kind: str) -> RecordingWhich:
    makers: dict[str, Callable[[], str | None]] = {
        "absent": lambda: None,
        "two": lambda: fake_nvidia_smi(tmp_path, SMI_TWO),
        "none-listed": lambda: fake_nvidia_smi(tmp_path, "No devices were found\n"),
        "noise": lambda: fake_nvidia_smi(tmp_path, "warning: x\nGPU 0: A\n  GPU 1: indented\nGPU2: no space\n"),
        "fails": lambda: fake_nvidia_smi(tmp_path, SMI_TWO, exit_code=9),
        "missing-path": lambda: str(tmp_path / "does-not-exist"),
        "not-executable": lambda: str((tmp_path / "plain").resolve()) if (tmp_path / "plain").write_text("x") else None,
    }
    return RecordingWhich(makers[kind]())


@pytest.mark.parametrize(
    "kind, expected",
    [
        pytest.param("absent", 0, id="no-nvidia-smi"),
        pytest.param("two", 2, id="two-gpus"),
        pytest.param("none-listed", 0, id="no-devices"),
        pytest.param("noise", 1, id="only-lines-starting-GPU-space"),
        pytest.param("fails", 0, id="non-zero-exit"),
        pytest.param("missing-path", 0, id="cannot-start"),
        pytest.param("not-executable", 0, id="not-executable"),
    ],
)
def test_nvidia_smi_is_the_last_resort(tmp_path: Path, kind: str, expected: int) -> None:
    which = make_which(tmp_path, kind)
    assert count_gpus({"PATH": "/nowhere"}, proc_root=fake_proc(tmp_path, None), which=which) == expected
    assert which.calls == ["nvidia-smi"]


def test_default_proc_root_and_which_do_not_raise() -> None:
    assert count_gpus({"CUDA_VISIBLE_DEVICES": ""}) == 0
    assert count_gpus({}) >= 0
