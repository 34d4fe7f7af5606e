"""Trains 'forever'; on SIGTERM writes a checkpoint and exits 0. Spawns a grandchild too.

Writes its own pid and its grandchild's pid to $SM_OUTPUT_DATA_DIR/pids so a test can check
that nothing is left running.
"""

import json
import os
import signal
import subprocess
import sys
import time

grandchild = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(600)"])
os.makedirs(os.environ["SM_OUTPUT_DATA_DIR"], exist_ok=True)
with open(os.path.join(os.environ["SM_OUTPUT_DATA_DIR"], "pids"), "w") as file:
    json.dump([os.getpid(), grandchild.pid], file)


def on_sigterm(signum, frame):
    directory = os.environ["SM_CHECKPOINT_DIR"]
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, "checkpoint.txt"), "w") as file:
        file.write(f"stopped by signal {signum}\n")
    print("checkpoint written", flush=True)
    sys.exit(0)


signal.signal(signal.SIGTERM, on_sigterm)
print("training", flush=True)
while True:
    time.sleep(0.1)
