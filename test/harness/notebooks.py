"""Replaying a user notebook on local mode: its planned cells (notebook_cells.py) run in a kernel
process (notebook_kernel.py) in a directory laid out as the notebook's repository, with local
mode's home in a temporary directory; what each cell printed comes back, and endpoints the
notebook left running are stopped.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from harness.notebook_cells import (
    NOTEBOOKS,
    SAGEMAKER_IMPORTS,
    ImportRule,
    PlannedCell,
    Substitution,
    describe_plan,
    plan,
    read_cells,
)

KERNEL = Path(__file__).with_name("notebook_kernel.py")
REPLAY_LOCK = Path(tempfile.gettempdir()) / "container-runtime-notebook-replay.lock"
MARKER = "@@notebook-replay@@"  # the kernel's marker (notebook_kernel.MARKER), shared by value


@dataclass(frozen=True)
class CellRun:
    number: int
    output: str
    ok: bool
    seconds: float | None = None


@dataclass
class Replay:
    """What the kernel printed, cell by cell, and how it ended."""

    returncode: int
    transcript: str
    runs: dict[int, CellRun] = field(default_factory=dict)
    #: Endpoints still running when the kernel ended (stopped by the replay): a notebook that
    #: deletes its endpoints leaves none.
    left_running: list[str] = field(default_factory=list)

    def output(self, number: int) -> str:
        if number not in self.runs:
            raise AssertionError(f"cell {number} did not run\n{self.tail()}")
        return self.runs[number].output

    def timings(self) -> str:
        """Seconds per cell, slowest first: what a test prints to show where its time goes."""
        ranked = sorted(self.runs.values(), key=lambda run: -(run.seconds or 0.0))
        return ", ".join(f"cell {run.number}: {run.seconds:.1f}s" for run in ranked if run.seconds is not None)

    def tail(self, characters: int = 6000) -> str:
        return self.transcript[-characters:]

    def check(self, planned: Sequence[PlannedCell]) -> None:
        """Every planned cell that is not skipped ran and succeeded."""
        for cell in planned:
            if cell.skipped:
                continue
            run = self.runs.get(cell.number)
            if run is None or not run.ok:
                state = "did not run" if run is None else "failed"
                raise AssertionError(f"cell {cell.number} {state} (kernel exit {self.returncode}):\n"
                                     f"{cell.source}\n--- output ---\n{self.tail()}")


def parse_transcript(transcript: str) -> dict[int, CellRun]:
    """Split the kernel's output at its markers into each cell's output."""
    runs: dict[int, CellRun] = {}
    current: int | None = None
    lines: list[str] = []
    for line in transcript.splitlines(keepends=True):
        if line.startswith(MARKER):
            words = line.split()
            if words[1] == "begin":
                current, lines = int(words[2]), []
            elif current is not None:
                seconds = float(words[4]) if len(words) > 4 else None
                runs[current] = CellRun(current, "".join(lines), words[3] == "ok", seconds)
                current = None
            continue
        if current is not None:
            lines.append(line)
    if current is not None:  # the kernel died (timeout, signal) inside this cell
        runs[current] = CellRun(current, "".join(lines), False)
    return runs


def replay(planned: Sequence[PlannedCell], workdir: Path, *, home: Path, timeout: float,
           env: Mapping[str, str] | None = None, path: Sequence[str] = ()) -> Replay:
    """Run the planned cells in a kernel in `workdir` with local mode's home at `home`; then stop
    every endpoint the notebook left under that home, whatever happened."""
    cells_file = home / "replay-cells.json"
    home.mkdir(parents=True, exist_ok=True)
    cells_file.write_text(json.dumps([{"number": c.number, "source": c.source} for c in planned if not c.skipped]))
    environment = kernel_environment(home, env, path)
    with REPLAY_LOCK.open("a") as lock:
        # Notebooks write fixed paths (/tmp/data, then rmtree it): one replay at a time on a machine.
        fcntl.flock(lock, fcntl.LOCK_EX)
        return run_kernel(cells_file, workdir, home, environment, timeout)


def run_kernel(cells_file: Path, workdir: Path, home: Path, environment: dict[str, str], timeout: float) -> Replay:
    """The kernel process from start to end. Past `timeout` its process group gets SIGTERM (which
    local mode passes on to its jobs' `train`, and they to the scripts), then SIGKILL."""
    process = subprocess.Popen([sys.executable, "-u", str(KERNEL), str(cells_file)], cwd=workdir, env=environment,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, errors="replace",
                               start_new_session=True)
    try:
        transcript, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            transcript, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            transcript, _ = process.communicate()
        transcript += f"\n[replay: killed after {timeout:.0f} s]\n"
    finally:
        left_running = stop_endpoints(home, environment)
    return Replay(process.returncode, transcript, parse_transcript(transcript), left_running)


def kernel_environment(home: Path, env: Mapping[str, str] | None, path: Sequence[str] = ()) -> dict[str, str]:
    """This process's environment, local mode's home, no display, and this interpreter's tools
    (then `path`) at the end of PATH."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "SAGEMAKER_"))}
    environment["CONTAINER_RUNTIME_HOME"] = str(home)
    environment["MPLBACKEND"] = "Agg"
    entries = [environment.get("PATH", os.defpath), str(Path(sys.executable).parent), *filter(None, path)]
    environment["PATH"] = os.pathsep.join(entries)
    environment.update(env or {})
    return environment


def stop_endpoints(home: Path, environment: Mapping[str, str]) -> list[str]:
    """`container-runtime --home HOME stop --all`, what a user runs after a notebook that crashed;
    returns the names of the endpoints it stopped."""
    stopped = subprocess.run(
        [sys.executable, "-m", "container_runtime.local.cli", "--home", str(home), "stop", "--all"],
        env=dict(environment), capture_output=True, text=True, timeout=120, check=False)
    if stopped.returncode != 0:
        raise AssertionError(f"stopping the replay's endpoints failed:\n{stopped.stdout}{stopped.stderr}")
    return [line.removeprefix("Stopped endpoint ").strip() for line in stopped.stdout.splitlines()
            if line.startswith("Stopped endpoint ")]


def replay_notebook(name: str, substitutions: Iterable[Substitution], workdir: Path, *, home: Path, timeout: float,
                    import_rules: Sequence[ImportRule] = SAGEMAKER_IMPORTS,
                    env: Mapping[str, str] | None = None, path: Sequence[str] = ()) -> Replay:
    """Plan and replay notebook `name` from NOTEBOOKS in `workdir`; fails naming the first cell that failed."""
    planned = plan(read_cells(NOTEBOOKS / name), substitutions, import_rules)
    result = replay(planned, workdir, home=home, timeout=timeout, env=env, path=path)
    print(f"{name}: {result.timings()}")  # shown with the test's output: where the time went
    try:
        result.check(planned)
    except AssertionError as failure:
        raise AssertionError(f"{failure}\n--- changes to {name} ---\n{describe_plan(planned)}") from None
    return result


NVIDIA_SMI_WITHOUT_DRIVER = """#!/bin/sh
echo "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver." >&2
exit 9
"""


def gpu_tools_path(directory: Path) -> str:
    """A PATH entry for notebooks that ask `nvidia-smi` whether there is a GPU: on a machine without
    the tool, one that answers as it does where the driver is missing (exit 9); empty where it exists."""
    if shutil.which("nvidia-smi"):
        return ""
    directory.mkdir(parents=True, exist_ok=True)
    tool = directory / "nvidia-smi"
    tool.write_text(NVIDIA_SMI_WITHOUT_DRIVER)
    tool.chmod(0o755)
    return str(directory)


def lay_out(workdir: Path, files: Mapping[str, Path]) -> Path:
    """The notebook's repository around it: each relative path a copy of one of our files."""
    for relative, source in files.items():
        target = workdir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(source, target)
    return workdir
