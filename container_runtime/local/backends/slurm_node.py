"""What a `slurm` backend job runs: the batch script's `srun`, and on every node the runtime's `train`.

`batch()` is the batch script's body (sbatch runs it on the first node): one `srun` step with a
task per node, so a task that fails ends the others (`--kill-on-bad-exit`). `node()` is each
task: the node's index (`SLURM_NODEID`) picks its base dir `<job dir>/hosts/algo-<index + 1>`,
`train` runs there with its output in `<job dir>/slurm/algo-<index + 1>.out`, and its exit
status is written to `algo-<index + 1>.exit` when it ends, for the submitting side to read.
SIGTERM from `scancel --signal=TERM` reaches `train` directly (Slurm signals every process of
the step); this process only waits for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from container_runtime.local.backends.commands import runtime_command

MODULE = "container_runtime.local.backends.slurm_node"


def batch(argv: list[str] | None = None) -> None:
    """`srun` one task per node of the allocation, each running `node` for the job dir."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        raise SystemExit("usage: batch.py JOB_DIR")
    nodes = os.environ.get("SLURM_JOB_NUM_NODES") or os.environ.get("SLURM_NNODES") or "1"
    os.execvp("srun", ["srun", "--nodes", nodes, "--ntasks-per-node", "1", "--kill-on-bad-exit=1",
                       sys.executable, "-m", MODULE, arguments[0]])


def node(job_dir: Path) -> int:
    """Run `train` for this node's host; return (and record) its exit status."""
    index = int(os.environ["SLURM_NODEID"])
    host = f"algo-{index + 1}"
    streams = job_dir / "slurm"
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(job_dir / "hosts" / host)}
    signal.signal(signal.SIGTERM, lambda *_: None)  # train got it too; wait for its status
    signal.signal(signal.SIGINT, lambda *_: None)
    with (streams / f"{host}.out").open("ab") as output:
        # Our handlers are not inherited: train starts with the default ones, and installs its own.
        train = subprocess.Popen(runtime_command("train"), env=env, stdin=subprocess.DEVNULL, stdout=output,
                                 stderr=subprocess.STDOUT)
        code = train.wait()
    status = 128 - code if code < 0 else code
    partial = streams / f".{host}.exit.partial"
    partial.write_text(f"{status}\n")
    os.replace(partial, streams / f"{host}.exit")
    return status


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m container_runtime.local.backends.slurm_node JOB_DIR")
    sys.exit(node(Path(sys.argv[1])))
