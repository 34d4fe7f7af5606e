"""Bayesian against Random on the Branin function, through the real tuner and real local jobs.

For each seed, a tuning job runs `examples/tuning/branin.py` one trial at a time until a trial
gets within `--regret` of the minimum (0.397887) or the budget is spent. Reported: the median
number of trials each strategy needed (a run that missed counts as the budget, so the median is
a lower bound for it), their ratio, and the tuner's own cost per trial: its wall time minus the
jobs' own time (each job's TrainingTimeInSeconds), divided by the trials. Goals: Bayesian needs
at most half the trials of Random; the overhead stays under 0.3 s per trial.

    python benchmarks/tuning.py [--seeds 10] [--budget 150] [--regret 0.5]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BRANIN_MINIMUM = 0.397887
GOAL_RATIO = 0.5
GOAL_OVERHEAD_S = 0.3


def run(strategy: str, seed: int, budget: int, target: float, home: Path) -> tuple[int, float, float]:
    """(trials run, tuner wall seconds, seconds the jobs themselves took)."""
    from container_runtime.local import Estimator
    from container_runtime.local.tuning.ranges import ContinuousParameter
    from container_runtime.local.tuning.tuner import HyperparameterTuner

    estimator = Estimator(str(REPO / "examples" / "tuning" / "branin.py"), jobs_dir=home / "jobs",
                          endpoints_dir=home / "endpoints", console=None)
    tuner = HyperparameterTuner(
        estimator, "branin", {"x1": ContinuousParameter(-5, 10), "x2": ContinuousParameter(0, 15)},
        [{"Name": "branin", "Regex": r"branin = ([-0-9.]+)"}], strategy=strategy, objective_type="Minimize",
        max_jobs=budget, max_parallel_jobs=1, random_seed=seed, target_objective_value=target,
        tuning_dir=home / "tuning", console=None,
    )
    started = time.perf_counter()
    result = tuner.fit(job_name=f"{strategy.lower()}-{seed}")
    wall = time.perf_counter() - started
    jobs = sorted((result.tuning_dir / "jobs").iterdir())
    own = sum(json.loads((job / "describe.json").read_text())["TrainingTimeInSeconds"] for job in jobs)
    return len(jobs), wall, own


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument("--regret", type=float, default=0.5)
    args = parser.parse_args()
    target = BRANIN_MINIMUM + args.regret
    trials: dict[str, list[int]] = {"Bayesian": [], "Random": []}
    overheads: list[float] = []
    with tempfile.TemporaryDirectory(prefix="tuning-bench-") as scratch:
        for seed in range(args.seeds):
            for strategy in ("Bayesian", "Random"):  # alternate, so machine noise hits both alike
                count, wall, own = run(strategy, seed, args.budget, target, Path(scratch) / f"{strategy}-{seed}")
                trials[strategy].append(count)
                overheads.append((wall - own) / count)
                print(f"seed {seed} {strategy}: {count} trials, {(wall - own) / count:.3f} s overhead per trial",
                      file=sys.stderr)
    bayesian, random = statistics.median(trials["Bayesian"]), statistics.median(trials["Random"])
    report = {
        "target": f"branin <= {target:.6f} (regret {args.regret})",
        "seeds": args.seeds,
        "budget": args.budget,
        "median_trials_bayesian": bayesian,
        "median_trials_random": random,
        "bayesian_over_random": round(bayesian / random, 3),
        "random_runs_missing_target": sum(count >= args.budget for count in trials["Random"]),
        "median_overhead_s_per_trial": round(statistics.median(overheads), 3),
        "max_overhead_s_per_trial": round(max(overheads), 3),
        "trials": trials,
        "meets_goals": bayesian / random <= GOAL_RATIO and statistics.median(overheads) < GOAL_OVERHEAD_S,
    }
    print(json.dumps(report, indent=2))
    return 0 if report["meets_goals"] else 1


if __name__ == "__main__":
    sys.exit(main())
