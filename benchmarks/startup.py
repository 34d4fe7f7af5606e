"""Start-up overhead of `train`: a trivial script under `train` against `python script.py`.

Both run in this process's loop, alternating, so machine noise hits both alike. Reports the
median wall times, their ratio and the absolute overhead; the goal is an overhead under 60 ms.

    python benchmarks/startup.py [--runs 30] [--train PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GOAL_MS = 60.0


def default_train() -> str:
    beside = Path(sys.executable).parent / "train"
    return str(beside) if beside.exists() else (shutil.which("train") or "train")


def make_job(root: Path) -> Path:
    base = root / "opt_ml"
    for sub in ("input/config", "input/data/train", "code", "model", "output/data"):
        (base / sub).mkdir(parents=True)
    (base / "code" / "train.py").write_text("print('hello from the user script')\n")
    hyperparameters = {"sagemaker_program": '"train.py"', "epochs": "3", "learning-rate": "0.01"}
    (base / "input/config/hyperparameters.json").write_text(json.dumps(hyperparameters))
    (base / "input/config/resourceconfig.json").write_text('{"current_host":"algo-1","hosts":["algo-1"]}')
    (base / "input/config/inputdataconfig.json").write_text('{"train":{"TrainingInputMode":"File"}}')
    return base


def timed(command: list[str], env: dict[str, str], cwd: Path) -> float:
    started = time.perf_counter()
    subprocess.run(command, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--train", default=default_train())
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as scratch:
        base = make_job(Path(scratch))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SM_", "SAGEMAKER_"))}
        env["SAGEMAKER_BASE_DIR"] = str(base)
        no_artifacts = {**env, "SM_PACKAGE_ARTIFACTS": "false"}
        code = base / "code"
        variants = {
            "python train.py": ([sys.executable, "train.py"], env),
            "train (default)": ([args.train], env),
            "train (SM_PACKAGE_ARTIFACTS=false)": ([args.train], no_artifacts),
        }
        samples: dict[str, list[float]] = {name: [] for name in variants}
        for command, variant_env in variants.values():  # warm the page cache
            timed(command, variant_env, code)
        for _ in range(args.runs):
            for name, (command, variant_env) in variants.items():
                samples[name].append(timed(command, variant_env, code))

    baseline = statistics.median(samples["python train.py"])
    print(f"python {sys.version.split()[0]}, train = {args.train}, {args.runs} runs each, {os.cpu_count()} CPUs")
    print(f"{'variant':40} {'median ms':>10} {'ratio':>7} {'overhead ms':>12}")
    verdict = 0
    for name, values in samples.items():
        median = statistics.median(values)
        overhead = (median - baseline) * 1000
        print(f"{name:40} {median * 1000:10.1f} {median / baseline:7.2f} {overhead:12.1f}")
        if name.startswith("train (default)"):
            verdict = 0 if overhead < GOAL_MS else 1
    print(f"goal: overhead of train (default) under {GOAL_MS:.0f} ms -> {'PASS' if verdict == 0 else 'FAIL'}")
    return verdict


if __name__ == "__main__":
    sys.exit(main())
