"""The tuner's loop through its trial-runner seam, in-process and without spawning a job: what a
trial receives, parallel trials, a retry enqueued after the budget was spent, Auto early stopping,
and Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pytest

from container_runtime.local import Estimator
from container_runtime.local.metrics import MetricCollector
from container_runtime.local.training import JobControl, TrainingJobResult, TrainingJobSpec
from container_runtime.local.tuning.ranges import CategoricalParameter, ContinuousParameter
from container_runtime.local.tuning.trials import TrialRunner
from container_runtime.local.tuning.tuner import HyperparameterTuner

pytest.importorskip("optuna")
LOSS_METRIC = [{"Name": "loss", "Regex": r"loss = ([-0-9.e]+)"}]


def estimator(home: Path, **hyperparameters: Any) -> Estimator:
    script = home / "train.py"
    script.write_text("raise SystemExit('a trial runner in the test runs the jobs')\n")
    return Estimator(str(script), hyperparameters=hyperparameters, jobs_dir=home / "jobs",
                     endpoints_dir=home / "endpoints", console=None)


def result(spec: TrainingJobSpec, status: str = "Completed", **description: Any) -> TrainingJobResult:
    assert spec.job_name is not None
    return TrainingJobResult(spec.job_name, status, dict(description), spec.jobs_dir / spec.job_name,
                             MetricCollector(()))


def reporting(loss: Callable[[Mapping[str, Any]], float], seen: list[TrainingJobSpec] | None = None) -> TrialRunner:
    """A runner whose job prints `loss = <loss(hyperparameters)>` at once and completes."""

    def run(spec: TrainingJobSpec, control: JobControl) -> TrainingJobResult:
        if seen is not None:
            seen.append(spec)
        assert control.on_line is not None
        control.on_line("algo-1", f"loss = {loss(spec.hyperparameters)}", time.time())
        return result(spec)

    return run


def test_trials_run_through_the_runner_with_the_job_the_tuner_built(tmp_path: Path) -> None:
    seen: list[TrainingJobSpec] = []
    tuner = HyperparameterTuner(
        estimator(tmp_path, note="static"), "loss", {"x": ContinuousParameter(0, 1), "opt": CategoricalParameter.of(
            ["a", "b"])}, LOSS_METRIC, strategy="Random", objective_type="Minimize", max_jobs=12, max_parallel_jobs=4,
        random_seed=0, storage=str(tmp_path / "journal.log"), console=None, run_trial=reporting(lambda h: h["x"], seen),
    )
    outcome = tuner.fit(job_name="seam")
    assert outcome.status == "Completed"
    assert outcome.description["CompletionReason"] == "all 12 training jobs ran"
    assert outcome.description["TrainingJobStatusCounters"]["Completed"] == 12
    assert len(seen) == 12 and not (tmp_path / "tuning" / "seam" / "jobs").exists()  # nothing was spawned
    assert sorted(spec.job_name.rsplit("-", 1)[0] for spec in seen if spec.job_name) == [
        f"seam-{n:03d}" for n in range(1, 13)]
    for spec in seen:
        assert spec.hyperparameters["note"] == "static" and spec.hyperparameters["opt"] in ("a", "b")
        assert spec.raw_hyperparameters == {"_tuning_objective_metric": "loss"}
    frame = tuner.analytics()
    assert frame["FinalObjectiveValue"].min() == outcome.description["BestTrainingJob"][
        "FinalHyperParameterTuningJobObjectiveMetric"]["Value"]


def test_a_job_failing_after_the_budget_was_spent_is_still_retried(tmp_path: Path) -> None:
    def run(spec: TrainingJobSpec, control: JobControl) -> TrainingJobResult:
        assert spec.job_name is not None and control.on_line is not None
        if "-002-" in spec.job_name and not spec.job_name.endswith("-retry1"):
            time.sleep(0.5)  # job 1 ends first, so the tuner finds the budget spent while this one runs
            return result(spec, "Failed", FailureReason="boom")
        control.on_line("algo-1", "loss = 1.0", time.time())
        return result(spec)

    tuner = HyperparameterTuner(estimator(tmp_path), "loss", {"x": ContinuousParameter(0, 1)}, LOSS_METRIC,
                                strategy="Random", objective_type="Minimize", max_jobs=2, max_parallel_jobs=2,
                                max_retries=1, console=None, run_trial=run)
    outcome = tuner.fit(job_name="budget")
    frame = tuner.analytics()
    assert sorted(zip(frame["TrainingJobName"].str.replace(r"-[0-9a-f]{4}", "", regex=True),
                      frame["TrainingJobStatus"], strict=True)) == [
        ("budget-001", "Completed"), ("budget-002", "Failed"), ("budget-002-retry1", "Completed")]
    assert outcome.status == "Completed"
    assert outcome.description["CompletionReason"] == "all 2 training jobs ran"


def test_auto_early_stopping_stops_a_job_worse_than_its_peers(tmp_path: Path) -> None:
    def run(spec: TrainingJobSpec, control: JobControl) -> TrainingJobResult:
        assert control.on_line is not None
        offset = float(spec.hyperparameters["offset"])
        for epoch in range(1, 6):
            control.on_line("algo-1", f"loss = {offset + 1 / epoch}", time.time())
            if control.stop_requested.is_set():
                return result(spec, "Stopped")
        return result(spec)

    tuner = HyperparameterTuner(estimator(tmp_path), "loss", {"offset": CategoricalParameter.of([0.0, 0.01, 0.02, 5.0])},
                                LOSS_METRIC, strategy="Grid", objective_type="Minimize", early_stopping_type="Auto",
                                console=None, run_trial=run)  # one at a time, in grid order: 5.0 may come first
    tuner.fit(job_name="auto-stop")
    frame = tuner.analytics()
    statuses = dict(zip(frame["offset"], frame["TrainingJobStatus"], strict=True))
    assert set(statuses) == {0.0, 0.01, 0.02, 5.0}
    late = [offset for offset, status in statuses.items() if status == "Stopped"]
    assert late in ([], [5.0])
    if list(frame["offset"])[-1] == 5.0:  # it ran after three peers: stopped at its second value
        assert late == [5.0]


def test_ctrl_c_stops_the_running_jobs_and_the_tuning_job(tmp_path: Path) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("the tuner handles SIGINT only in the main thread")
    started = threading.Event()

    def run(spec: TrainingJobSpec, control: JobControl) -> TrainingJobResult:
        started.set()
        assert control.stop_requested.wait(30)
        return result(spec, "Stopped")

    def interrupt() -> None:
        started.wait(30)
        os.kill(os.getpid(), signal.SIGINT)

    tuner = HyperparameterTuner(estimator(tmp_path), "loss", {"x": ContinuousParameter(0, 1)}, LOSS_METRIC,
                                strategy="Random", max_jobs=4, max_parallel_jobs=2, console=None, run_trial=run)
    threading.Thread(target=interrupt, daemon=True).start()
    began = time.monotonic()
    outcome = tuner.fit(job_name="interrupted")
    assert time.monotonic() - began < 10
    assert outcome.status == "Stopped"
    assert outcome.description["TrainingJobStatusCounters"]["Stopped"] == 2
    assert signal.getsignal(signal.SIGINT) is signal.default_int_handler  # ours is gone again
