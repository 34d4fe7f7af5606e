"""What a notebook replay runs: a user notebook's code cells (from its reStructuredText) and
the changes a test makes to them.

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

import os
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

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


def describe_plan(planned: Sequence[PlannedCell]) -> str:
    """One line per changed cell: what a failing test prints so the changes are in front of the reader."""
    return "\n".join(f"cell {cell.number}: {'; '.join(cell.changes)}" for cell in planned if cell.changes)

