"""The tuner against its goals: search quality on Branin with real jobs, and its own overhead at scale.

Default: Bayesian against Random on the Branin function, through the real tuner and real local
jobs. For each seed, a tuning job runs `examples/tuning/branin.py` one trial at a time until a
trial gets within `--regret` of the minimum (0.397887) or the budget is spent. Reported: the
median number of trials each strategy needed (a run that missed counts as the budget, so the
median is a lower bound for it), their ratio, and the tuner's own cost per trial: its wall time
minus the jobs' own time (each job's TrainingTimeInSeconds), divided by the trials. Goals:
Bayesian needs at most half the trials of Random; the overhead stays under 0.3 s per trial.

`--scale`: the tuner's own overhead as the study grows. 1,000 trials, 8 at a time, on a journal
file (a temporary one, in /dev/shm when there is one: the tuner's cost, not the disk's fsync
latency, which on a shared machine swings with everyone else's writes; `--journal-dir` to choose),
each trial a no-op run through the tuner's trial-runner seam: it prints
its Branin value at once and returns, so no process is spawned and almost all the wall time is
the tuner's. A trial's overhead is the time between its start and the previous trial's start:
in the steady state the loop tells one finished job and starts one per turn, and the no-op
trials (whose own time is reported too: microseconds) run beside it in worker threads. Reported:
the median over the first 100 trials and over the last 100, their ratio, and the median over
all. Goals: the last 100 within 2x of the first 100; the overhead under 0.3 s per trial. The
strategy is Random: TPE (the Bayesian strategy) fits its estimators to every finished trial on
each ask, so its cost grows with the study by design, and that is Optuna's cost, not the tuner's
(`--strategy Bayesian` shows it).

Each goal prints a PASS/FAIL line after the JSON report; the exit status is 0 when all pass.

    python benchmarks/tuning.py [--seeds 10] [--budget 150] [--regret 0.5]
    python benchmarks/tuning.py --scale [--trials 1000] [--parallel 8] [--window 100] [--strategy Random]
                                        [--journal-dir /dev/shm]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
BRANIN = REPO / "examples" / "tuning" / "branin.py"
BRANIN_MINIMUM = 0.397887
BRANIN_METRIC = [{"Name": "branin", "Regex": r"branin = ([-0-9.]+)"}]
GOAL_RATIO = 0.5
GOAL_OVERHEAD_S = 0.3
GOAL_GROWTH = 2.0


def _ranges() -> dict[str, Any]:
    from container_runtime.local.tuning.ranges import ContinuousParameter

    return {"x1": ContinuousParameter(-5, 10), "x2": ContinuousParameter(0, 15)}


def _estimator(home: Path) -> Any:
    from container_runtime.local import Estimator

    return Estimator(str(BRANIN), jobs_dir=home / "jobs", endpoints_dir=home / "endpoints", console=None)


def branin(x1: float, x2: float) -> float:
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1**2 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


def verdict(passed: bool, text: str) -> bool:
    print(f"{'PASS' if passed else 'FAIL'}  {text}")
    return passed


# Bayesian against Random, real jobs ---------------------------------------------------------


def run(strategy: str, seed: int, budget: int, target: float, home: Path) -> tuple[int, float, float]:
    """(trials run, tuner wall seconds, seconds the jobs themselves took)."""
    from container_runtime.local.tuning.tuner import HyperparameterTuner

    tuner = HyperparameterTuner(
        _estimator(home), "branin", _ranges(), BRANIN_METRIC, strategy=strategy, objective_type="Minimize",
        max_jobs=budget, max_parallel_jobs=1, random_seed=seed, target_objective_value=target,
        tuning_dir=home / "tuning", console=None,
    )
    started = time.perf_counter()
    result = tuner.fit(job_name=f"{strategy.lower()}-{seed}")
    wall = time.perf_counter() - started
    jobs = sorted((result.tuning_dir / "jobs").iterdir())
    own = sum(json.loads((job / "describe.json").read_text())["TrainingTimeInSeconds"] for job in jobs)
    return len(jobs), wall, own


def search_quality(args: argparse.Namespace) -> bool:
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
    overhead = statistics.median(overheads)
    report = {
        "target": f"branin <= {target:.6f} (regret {args.regret})",
        "seeds": args.seeds,
        "budget": args.budget,
        "median_trials_bayesian": bayesian,
        "median_trials_random": random,
        "bayesian_over_random": round(bayesian / random, 3),
        "random_runs_missing_target": sum(count >= args.budget for count in trials["Random"]),
        "median_overhead_s_per_trial": round(overhead, 3),
        "max_overhead_s_per_trial": round(max(overheads), 3),
        "trials": trials,
        "meets_goals": bayesian / random <= GOAL_RATIO and overhead < GOAL_OVERHEAD_S,
    }
    print(json.dumps(report, indent=2))
    return all([
        verdict(bayesian / random <= GOAL_RATIO, f"Bayesian/Random median trials to the target: {bayesian:g}/{random:g}"
                f" = {bayesian / random:.2f} (goal <= {GOAL_RATIO})"),
        verdict(overhead < GOAL_OVERHEAD_S, f"tuner overhead per trial, median: {overhead:.3f} s "
                f"(goal < {GOAL_OVERHEAD_S} s)"),
    ])


# The tuner's own overhead at scale, no-op trials --------------------------------------------


class NoOpTrials:
    """A trial runner that spawns nothing: the job prints its Branin value and completes. Keeps
    each trial's start time and its own time (outside the tuner's line callback)."""

    def __init__(self) -> None:
        self.starts: list[float] = []
        self.own: list[float] = []
        self.lock = threading.Lock()

    def __call__(self, spec: Any, control: Any) -> Any:
        from container_runtime.local.metrics import MetricCollector
        from container_runtime.local.training import TrainingJobResult

        began = time.perf_counter()
        line = f"branin = {branin(float(spec.hyperparameters['x1']), float(spec.hyperparameters['x2'])):.6f}"
        before_tuner = time.perf_counter()
        control.on_line("algo-1", line, time.time())  # the tuner's callback: reads the objective, reports it
        after_tuner = time.perf_counter()
        result = TrainingJobResult(spec.job_name, "Completed", {}, spec.jobs_dir / spec.job_name, MetricCollector(()))
        with self.lock:
            self.starts.append(began)
            self.own.append((before_tuner - began) + (time.perf_counter() - after_tuner))
        return result


def scale(args: argparse.Namespace) -> bool:
    from container_runtime.local.tuning.tuner import HyperparameterTuner

    trials = NoOpTrials()
    with tempfile.TemporaryDirectory(prefix="tuning-scale-") as scratch, \
            tempfile.TemporaryDirectory(prefix="tuning-scale-", dir=args.journal_dir) as journal_dir:
        home = Path(scratch)
        tuner = HyperparameterTuner(
            _estimator(home), "branin", _ranges(), BRANIN_METRIC, strategy=args.strategy, objective_type="Minimize",
            max_jobs=args.trials, max_parallel_jobs=args.parallel, random_seed=0,
            storage=str(Path(journal_dir) / "journal.log"), tuning_dir=home / "tuning", console=None, run_trial=trials,
        )
        began = time.perf_counter()
        result = tuner.fit(job_name="scale")
        wall = time.perf_counter() - began
    starts = sorted(trials.starts)
    overheads = [later - earlier for earlier, later in zip([began, *starts[:-1]], starts, strict=True)]
    first = statistics.median(overheads[: args.window])
    last = statistics.median(overheads[-args.window :])
    overall = statistics.median(overheads)
    report = {
        "trials": len(starts),
        "parallel": args.parallel,
        "strategy": args.strategy,
        "storage": f"journal file in {args.journal_dir or tempfile.gettempdir()}",
        "status": result.status,
        "median_overhead_s_first": round(first, 4),
        "median_overhead_s_last": round(last, 4),
        "last_over_first": round(last / first, 2),
        "median_overhead_s_per_trial": round(overall, 4),
        "mean_overhead_s_per_trial": round((starts[-1] - began) / len(starts), 4),
        "median_trial_own_s": round(statistics.median(trials.own), 6),
        "fit_wall_s": round(wall, 1),
        "meets_goals": last / first <= GOAL_GROWTH and overall < GOAL_OVERHEAD_S,
    }
    print(json.dumps(report, indent=2))
    return all([
        verdict(result.status == "Completed" and len(starts) == args.trials,
                f"{len(starts)} of {args.trials} no-op trials ran, tuning job {result.status}"),
        verdict(last / first <= GOAL_GROWTH, f"tuner overhead per trial, median of the last {args.window} "
                f"{last * 1000:.1f} ms / first {args.window} {first * 1000:.1f} ms = {last / first:.2f} "
                f"(goal <= {GOAL_GROWTH:g})"),
        verdict(overall < GOAL_OVERHEAD_S, f"tuner overhead per trial at scale, median: {overall * 1000:.1f} ms "
                f"(goal < {GOAL_OVERHEAD_S} s)"),
    ])


def _shm() -> str | None:
    """/dev/shm when it is there and writable (Linux); else None, the system's temporary dir."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--budget", type=int, default=150)
    parser.add_argument("--regret", type=float, default=0.5)
    parser.add_argument("--scale", action="store_true", help="the tuner's own overhead over many no-op trials")
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--window", type=int, default=100)
    parser.add_argument("--strategy", default="Random", help="--scale: the strategy (Random: see above)")
    parser.add_argument("--journal-dir", default=_shm(), help="--scale: where the journal file goes")
    args = parser.parse_args()
    passed = scale(args) if args.scale else search_quality(args)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
