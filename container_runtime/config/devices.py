"""Counting the GPUs a job may use, once per run and without spawning tools when possible."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path

from container_runtime.config.executables import find_executable

NVIDIA_SMI_TIMEOUT_SECONDS = 10.0
_HIDDEN_DEVICE_VALUES = frozenset({"", "-1", "none", "nodevfiles", "void"})


def count_gpus(
    environ: Mapping[str, str],
    *,
    proc_root: Path = Path("/proc"),
    which: Callable[[str], str | None] = find_executable,
) -> int:
    """Number of GPUs visible to the job.

    The driver's `/proc/driver/nvidia/gpus` entries give the physical count;
    `CUDA_VISIBLE_DEVICES` narrows it (and alone is trusted when /proc says nothing).
    Only when neither tells is `nvidia-smi --list-gpus` run; any failure means 0.
    """
    visible = _visible_devices(environ.get("CUDA_VISIBLE_DEVICES"))
    physical = _proc_gpu_count(proc_root)
    if physical is None and visible is None:
        physical = _nvidia_smi_gpu_count(which)
    if visible is None:
        return physical or 0
    if physical is None:
        return visible
    return min(visible, physical)


def _visible_devices(value: str | None) -> int | None:
    if value is None:
        return None
    if value.strip().lower() in _HIDDEN_DEVICE_VALUES:
        return 0
    count = 0
    for entry in value.split(","):
        entry = entry.strip()
        # CUDA stops at the first invalid ordinal, so do we.
        if not entry or entry.startswith("-"):
            break
        count += 1
    return count


def _proc_gpu_count(proc_root: Path) -> int | None:
    gpus_dir = proc_root / "driver" / "nvidia" / "gpus"
    try:
        return sum(1 for entry in gpus_dir.iterdir() if entry.is_dir())
    except OSError:
        return None


def _nvidia_smi_gpu_count(which: Callable[[str], str | None]) -> int | None:
    tool = which("nvidia-smi")
    if tool is None:
        return None
    try:
        listing = subprocess.run(
            [tool, "--list-gpus"],
            capture_output=True,
            text=True,
            timeout=NVIDIA_SMI_TIMEOUT_SECONDS,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return 0
    if listing.returncode != 0:
        return 0
    return sum(1 for line in listing.stdout.splitlines() if line.startswith("GPU "))
