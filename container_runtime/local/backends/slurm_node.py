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
import threading
import time
from pathlib import Path

from container_runtime.local.backends.commands import runtime_command
from container_runtime.process import ProcessGroup

NODE_MODULE = "container_runtime.local.backends.slurm_node"
#: How often a node asks Slurm whether its job still runs.
WATCH_SECONDS = 5.0
#: Job states in which nothing of the job should run any more.
GONE_STATES = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY", "BOOT_FAIL",
               "DEADLINE", "PREEMPTED")


def batch(argv: list[str] | None = None) -> None:
    """`srun` one task per node of the allocation, each running `node` for the job dir."""
    arguments = sys.argv[1:] if argv is None else argv
    if len(arguments) != 1:
        raise SystemExit("usage: batch.py JOB_DIR")
    nodes = os.environ.get("SLURM_JOB_NUM_NODES") or os.environ.get("SLURM_NNODES") or "1"
    os.execvp("srun", ["srun", "--nodes", nodes, "--ntasks-per-node", "1", "--kill-on-bad-exit=1",
                       sys.executable, "-m", NODE_MODULE, arguments[0]])


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
        # Slurm signals every process of the step, this new session included.
        train = ProcessGroup.start(runtime_command("train"), label="train", output=output, env=env)
    job_id = os.environ.get("SLURM_JOB_ID", "")
    if job_id:
        threading.Thread(target=_end_when_the_job_is_over, args=(job_id, train), daemon=True).start()
    code = train.wait(None)
    assert code is not None
    status = 128 - code if code < 0 else code
    partial = streams / f".{host}.exit.partial"
    partial.write_text(f"{status}\n")
    os.replace(partial, streams / f"{host}.exit")
    return status


def job_is_over(job_id: str, timeout: float = 10.0) -> bool | None:
    """Whether Slurm says the job has ended (or has forgotten it); None when squeue cannot tell."""
    try:
        result = subprocess.run(["squeue", "--noheader", "--jobs", job_id, "--format", "%T"], capture_output=True,
                                text=True, timeout=timeout, check=False, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if result.returncode != 0:
        return True if "Invalid job id" in result.stderr else None
    return result.stdout.strip() in ("", *GONE_STATES)


def _end_when_the_job_is_over(job_id: str, train: ProcessGroup) -> None:
    """When this node's slurmd dies, Slurm ends the job (NODE_FAIL) but cannot reach this node's step:
    its train would run on. Ask the controller now and then; once the job is over, end train (SIGTERM,
    then SIGKILL after the grace) so nothing of the job is left running here. When the controller
    cannot be asked, nothing is known, so nothing is done."""
    while train.alive():
        time.sleep(WATCH_SECONDS)
        if job_is_over(job_id):
            train.stop(float(os.environ.get("SM_STOP_GRACE_SECONDS", "30")))
            return


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit("usage: python -m container_runtime.local.backends.slurm_node JOB_DIR")
    sys.exit(node(Path(sys.argv[1])))
