"""Stopping a running training job from the dashboard: SIGTERM to the process that runs it, which
stops the job as Ctrl-C does (every host gets SIGTERM, then SIGKILL after the grace) and records it
`Stopped`. Only when the record names that process, the process is still the same one (its start
time matches: a pid can be reused) and it stops jobs on SIGTERM (a tuner's trials run in threads:
stop the tuning job instead)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from container_runtime.local.dashboard.records import read_json
from container_runtime.local.errors import LocalModeError


class CannotStop(LocalModeError):
    """The job is not one this dashboard can stop (finished, unreadable, or run by another kind of process)."""


def stop_job(job_root: Path) -> int:
    """Signal the job's process; its pid. The record changes to `Stopped` once the hosts exit."""
    import psutil

    name = job_root.name
    record = read_json(job_root / "describe.json")
    if isinstance(record, str):
        raise CannotStop(f"job {name}: {record}")
    if record.get("TrainingJobStatus") != "InProgress":
        raise CannotStop(f"job {name} is not running (status {record.get('TrainingJobStatus')})")
    controller = record.get("Controller")
    if not isinstance(controller, dict) or not isinstance(controller.get("Pid"), int):
        raise CannotStop(f"job {name}: its record names no process to stop")
    if not controller.get("StopsOnSigterm"):
        raise CannotStop(f"job {name} runs inside another job's process (a tuning job?): stop that one")
    pid: int = controller["Pid"]
    try:
        same = abs(psutil.Process(pid).create_time() - float(controller.get("CreateTime") or 0)) < 0.01
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        same = False
    if not same:
        raise CannotStop(f"job {name}: its process {pid} is gone; the record was left InProgress")
    os.kill(pid, signal.SIGTERM)
    return pid
