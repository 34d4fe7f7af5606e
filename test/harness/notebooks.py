"""Replaying a user notebook (SageMaker's public examples, as reStructuredText) on local mode.

A replay runs the notebook's code cells in order, in one kernel process, with exactly two kinds
of change, both visible in the test that asks for them:

* **imports**: `import sagemaker` and `from sagemaker... import ...` lines point at
  `container_runtime.sdk` (`SAGEMAKER_IMPORTS`); a test may add rules of its own. Only lines
  that are import statements are rewritten, and a `sagemaker` import no rule matches is an error.
* **substitutions** (`Substitution`): a cell, or one exact piece of it, replaced or skipped,
  each with its kind and the reason. Kinds: `data` (a download from the internet becomes our
  generated data), `display` (pure display: IPython widgets, images), `input` (what a person
  enters in a widget, such as a digit drawn in a canvas), `cloud` (a call that
  only makes sense against AWS: the AWS CLI, `boto3.client('sagemaker')`, installing
  docker-compose), `tf1` (TensorFlow 1 API that TensorFlow 2 removed, `tensorflow.contrib`
  above all: its TensorFlow 2 equivalent), `budget` (a setting shrunk so the replay fits CI's time; the reason says
  which and why). A substitution whose text the notebook no longer holds is an error, so a
  changed notebook cannot silently run something else.

In the rendered notebooks, code cells are `.. code:: ipython3` blocks; `.. code:: python` blocks
are code shown in the text (excerpts of the training scripts), which a notebook never runs, so
a replay skips them too.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

KERNEL = Path(__file__).with_name("notebook_kernel.py")
REPLAY_LOCK = Path(tempfile.gettempdir()) / "container-runtime-notebook-replay.lock"
MARKER = "@@notebook-replay@@"  # the kernel's marker (notebook_kernel.MARKER), shared by value
REPO = Path(__file__).resolve().parents[2]
#: The five public notebooks our users follow (the issue's `../shared/reference/user-notebooks/`).
NOTEBOOKS = Path(os.environ.get("NOTEBOOKS_DIR", REPO.parent / "shared" / "reference" / "user-notebooks"))

CODE_DIRECTIVE = re.compile(r"^\.\. code:: *(?P<language>\S+)\s*$")
IMPORT_LINE = re.compile(r"^\s*(import|from)\s")

SubstitutionKind = Literal["data", "display", "input", "cloud", "tf1", "budget"]


class NotebookDrift(AssertionError):
    """The notebook does not hold what a substitution or import rule was written against."""


@dataclass(frozen=True)
class Cell:
    """One code block of the .rst: `number` counts the notebook's code cells from 1."""

    number: int
    language: str
    source: str
    line: int

    @property
    def runs(self) -> bool:
        """Only code cells run; `.. code:: python` blocks are code quoted in the text."""
        return self.language == "ipython3"


def read_blocks(text: str) -> list[Cell]:
    """Every `.. code::` block, dedented; code cells numbered 1, 2, ... in reading order, quoted code 0."""
    lines = text.splitlines()
    blocks: list[Cell] = []
    number = 0
    index = 0
    while index < len(lines):
        match = CODE_DIRECTIVE.match(lines[index])
        if not match:
            index += 1
            continue
        start = index + 1
        body: list[str] = []
        index = start
        while index < len(lines) and (not lines[index].strip() or lines[index][:1] in " \t"):
            body.append(lines[index])
            index += 1
        source = textwrap.dedent("\n".join(body)).strip("\n") + "\n"
        runs = match["language"] == "ipython3"
        if runs:
            number += 1
        blocks.append(Cell(number if runs else 0, match["language"], source, start))
    return blocks


def read_cells(path: Path) -> list[Cell]:
    """The notebook's code cells (the blocks a kernel runs), in order."""
    return [block for block in read_blocks(path.read_text(encoding="utf-8")) if block.runs]


@dataclass(frozen=True)
class ImportRule:
    """An import line the rule matches (a regex on the whole stripped line) and what it becomes."""

    pattern: str
    replacement: str

    def apply(self, line: str) -> str | None:
        match = re.fullmatch(self.pattern, line.strip())
        if match is None:
            return None
        indent = line[: len(line) - len(line.lstrip())]
        return indent + match.expand(self.replacement)


#: `import sagemaker` and `from sagemaker[.module] import names`: the SDK's modules under ours.
SAGEMAKER_IMPORTS = (
    ImportRule(r"import sagemaker", "import container_runtime.sdk as sagemaker"),
    ImportRule(r"from sagemaker((?:\.\w+)*) import (.+)", r"from container_runtime.sdk\1 import \2"),
)
SAGEMAKER_MODULE = re.compile(r"^\s*(import|from)\s+sagemaker\b")


def rewrite_imports(source: str, rules: Sequence[ImportRule] = SAGEMAKER_IMPORTS) -> str:
    """`source` with its import lines rewritten by the first rule matching each; nothing else changes."""
    out = []
    for line in source.splitlines():
        if IMPORT_LINE.match(line):
            for rule in rules:
                rewritten = rule.apply(line)
                if rewritten is not None:
                    line = rewritten
                    break
            else:
                if SAGEMAKER_MODULE.match(line):
                    raise NotebookDrift(f"no import rule for the SDK import {line.strip()!r}")
        out.append(line)
    return "\n".join(out) + "\n"


@dataclass(frozen=True)
class Substitution:
    """Cell `cell`'s text `old` (None: the whole cell) replaced by `new` ("" and old=None: skipped)."""

    cell: int
    kind: SubstitutionKind
    why: str
    old: str | None = None
    new: str = ""

    def apply(self, source: str) -> str:
        if self.old is None:
            return self.new
        count = source.count(self.old)
        if count != 1:
            raise NotebookDrift(f"cell {self.cell}: the substituted text occurs {count} times, not once: {self.old!r}")
        return source.replace(self.old, self.new)


@dataclass(frozen=True)
class PlannedCell:
    """A cell as the replay runs it, with what was changed and why."""

    number: int
    original: str
    source: str
    changes: tuple[str, ...] = ()

    @property
    def skipped(self) -> bool:
        return not self.source.strip()


def plan(cells: Sequence[Cell], substitutions: Iterable[Substitution],
         import_rules: Sequence[ImportRule] = SAGEMAKER_IMPORTS) -> list[PlannedCell]:
    """The cells with the substitutions applied (in table order), then the imports rewritten."""
    by_number = {cell.number: cell for cell in cells}
    sources = {cell.number: cell.source for cell in cells}
    changes: dict[int, list[str]] = {number: [] for number in by_number}
    whole: set[int] = set()
    for substitution in substitutions:
        if substitution.cell not in by_number:
            raise NotebookDrift(f"no code cell {substitution.cell} (the notebook has {len(cells)})")
        if not substitution.why.strip():
            raise ValueError(f"cell {substitution.cell}: a substitution needs its reason")
        if substitution.cell in whole:
            raise NotebookDrift(f"cell {substitution.cell}: substituted again after being replaced whole")
        if substitution.old is None:
            whole.add(substitution.cell)
        sources[substitution.cell] = substitution.apply(sources[substitution.cell])
        changes[substitution.cell].append(f"{substitution.kind}: {substitution.why}")
    planned = []
    for number, cell in by_number.items():
        source = rewrite_imports(sources[number], import_rules) if sources[number].strip() else ""
        if source != cell.source and not changes[number]:
            changes[number].append("imports")
        planned.append(PlannedCell(number, cell.source, source, tuple(changes[number])))
    return planned


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


def describe_plan(planned: Sequence[PlannedCell]) -> str:
    """One line per changed cell: what a failing test prints so the changes are in front of the reader."""
    return "\n".join(f"cell {cell.number}: {'; '.join(cell.changes)}" for cell in planned if cell.changes)


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
