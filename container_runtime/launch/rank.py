"""Runs a user's script or module in an MPI rank with line-buffered output.

Ranks write to pipes, where Python buffers stdout in blocks (lines arrive late) or, with
PYTHONUNBUFFERED, writes every `print` argument separately (`mpirun --tag-output` then tags
each fragment). Line buffering gives whole, timely lines. Invoked as
`python -m mpi4py -m container_runtime.launch.rank <script.py | -m module> [args...]`, so
mpi4py still aborts the whole job when any rank raises.
"""

from __future__ import annotations

import runpy
import sys


def main(argv: list[str]) -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True, write_through=False)
    if len(argv) >= 2 and argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv:
        sys.argv = list(argv)
        runpy.run_path(argv[0], run_name="__main__")
    else:
        raise SystemExit("usage: python -m mpi4py -m container_runtime.launch.rank <script.py | -m module> [args...]")


if __name__ == "__main__":
    main(sys.argv[1:])
