"""An MPI script for multi-host tests: every rank reports who and where it is, after an allreduce.

Each rank writes `rank-<N>.json` into its own host's model dir. `--raise-on HOST` makes the
ranks on HOST raise; `--sleep-on HOST --seconds S` makes them sleep first (a slow host);
`--hang` makes every rank wait forever after the allreduce (for kill tests).
"""

import argparse
import json
import os
import socket
import time

from mpi4py import MPI

parser = argparse.ArgumentParser()
parser.add_argument("--raise-on", default="")
parser.add_argument("--sleep-on", default="")
parser.add_argument("--seconds", type=float, default=0.0)
parser.add_argument("--hang", default="false")
args = parser.parse_args()

comm = MPI.COMM_WORLD
host = os.environ["SM_CURRENT_HOST"]
total = comm.allreduce(comm.Get_rank())
where = comm.allgather([socket.gethostname(), MPI.Get_processor_name()])
if host == args.raise_on:
    raise ValueError(f"rank {comm.Get_rank()} on {host} failed on purpose")
if host == args.sleep_on:
    time.sleep(args.seconds)
if args.hang.lower() == "true":
    print(f"rank {comm.Get_rank()} on {host} hangs", flush=True)
    time.sleep(3600)
report = {
    "rank": comm.Get_rank(),
    "size": comm.Get_size(),
    "sum_of_ranks": total,
    "hosts_seen": where,
    "sm_current_host": host,
    "sm_current_host_rank": os.environ["SM_CURRENT_HOST_RANK"],
    "is_master": json.loads(os.environ["SM_TRAINING_ENV"])["is_master"],
    "model_dir_files_before": sorted(os.listdir(os.environ["SM_MODEL_DIR"])),
}
with open(os.path.join(os.environ["SM_MODEL_DIR"], f"rank-{comm.Get_rank()}.json"), "w") as out:
    json.dump(report, out)
print(f"rank {comm.Get_rank()} of {comm.Get_size()} on {host}: sum {total}", flush=True)
