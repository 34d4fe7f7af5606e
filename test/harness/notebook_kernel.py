"""A minimal notebook kernel for replays: the child process that runs a notebook's code cells in
order, in one namespace, the way Jupyter's "Run All" does, and stops at the first failing cell.

It is a separate process, as a kernel is: its working directory is the notebook's directory
(first on `sys.path`, so the notebook's own modules import), its output is one stream (stdout
and stderr together, child processes included), and what it starts dies with it.

    python notebook_kernel.py CELLS.json

CELLS.json is a list of `{"number": n, "source": "..."}`. Each cell's output is framed by
marker lines (`MARKER begin n`, `MARKER end n ok|error SECONDS`). As in IPython, a line `!command`
runs `command` with `{expression}` fields expanded in the namespace (split like a shell would,
but never run through one) and a cell whose last statement is an expression shows its value.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shlex
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

MARKER = "@@notebook-replay@@"
SHELL_LINE = re.compile(r"^(?P<indent>[ \t]*)!(?P<command>.*)$")


class ShellCommandFailed(RuntimeError):
    """A `!command` line exited non-zero: a replay treats it as the cell failing."""


def run_shell(command: str, namespace: dict[str, Any]) -> None:
    """IPython's `!command`: `{expr}` fields are expanded from the namespace, then run without a shell."""
    argv = shlex.split(command.format_map(namespace))
    sys.stdout.flush()
    sys.stderr.flush()
    completed = subprocess.run(argv, check=False)
    if completed.returncode != 0:
        raise ShellCommandFailed(f"!{command} exited {completed.returncode}")


def translate_shell_lines(source: str) -> str:
    """Turn every `!command` line into a call of the kernel's shell function, as IPython does."""
    lines = []
    for line in source.splitlines():
        match = SHELL_LINE.match(line)
        if match:
            line = f"{match['indent']}__replay_shell__({match['command'].strip()!r}, globals())"
        lines.append(line)
    return "\n".join(lines) + "\n"


def run_cell(number: int, source: str, namespace: dict[str, Any]) -> None:
    """Execute one cell; show the value of a final expression statement, as IPython's Out[] does."""
    filename = f"<cell {number}>"
    tree = ast.parse(translate_shell_lines(source), filename)
    last = tree.body[-1] if tree.body and isinstance(tree.body[-1], ast.Expr) else None
    if last is not None:
        tree.body = tree.body[:-1]
    exec(compile(tree, filename, "exec"), namespace)  # noqa: S102 - replaying the notebook's own code
    if last is not None:
        value = eval(compile(ast.Expression(last.value), filename, "eval"), namespace)  # noqa: S307
        if value is not None:
            print(shown(value))


def shown(value: Any) -> str:
    """A value as a notebook shows it: a pandas table whole (Jupyter renders all its columns as
    HTML; a plain repr would cut them to the terminal's width), anything else as its repr."""
    if type(value).__module__.startswith("pandas.") and callable(getattr(value, "to_string", None)):
        return str(value.to_string())
    return repr(value)


def main(argv: list[str]) -> int:
    cells = json.loads(Path(argv[1]).read_text())
    sys.path.insert(0, os.getcwd())  # Jupyter's kernel imports the notebook's own modules from its dir
    namespace: dict[str, Any] = {"__name__": "__main__", "__replay_shell__": run_shell}
    for cell in cells:
        number = int(cell["number"])
        print(f"{MARKER} begin {number}", flush=True)
        started = time.monotonic()
        try:
            run_cell(number, cell["source"], namespace)
        except BaseException:  # noqa: BLE001 - a notebook shows any failure and stops "Run All"
            traceback.print_exc()
            sys.stdout.flush()
            sys.stderr.flush()
            print(f"{MARKER} end {number} error {time.monotonic() - started:.1f}", flush=True)
            return 1
        sys.stdout.flush()
        sys.stderr.flush()
        print(f"{MARKER} end {number} ok {time.monotonic() - started:.1f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
