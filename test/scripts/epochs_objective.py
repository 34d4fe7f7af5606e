"""Emits `epoch N: loss = V` once per epoch, V = offset + 1/N, for early-stopping and Hyperband
tests. On SIGTERM it writes `sigterm.txt` into the model dir (the checkpoint a real script would
save) and exits 0; `--fail true` exits 1 at once; `--silent true` trains without printing the
objective."""

import argparse
import os
import signal
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--offset", type=float, default=0.0)
parser.add_argument("--epochs", type=int, default=5)
parser.add_argument("--seconds-per-epoch", type=float, default=0.1)
parser.add_argument("--fail", default="false")
parser.add_argument("--silent", default="false")
args, _ = parser.parse_known_args()


def on_sigterm(signum, frame):
    with open(os.path.join(os.environ["SM_MODEL_DIR"], "sigterm.txt"), "w") as marker:
        marker.write("stopped\n")
    print("saved a checkpoint on SIGTERM", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, on_sigterm)
if args.fail.lower() == "true":
    sys.exit("failing on purpose")
for epoch in range(1, args.epochs + 1):
    time.sleep(args.seconds_per_epoch)
    if args.silent.lower() != "true":
        print(f"epoch {epoch}: loss = {args.offset + 1.0 / epoch:.4f}", flush=True)
