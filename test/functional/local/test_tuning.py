"""Tuning jobs end to end on cheap scripts: what each trial receives, the records and counters,
objective failures, retries and failure limits, Grid, target completion, early stopping (with a
warm start) and Hyperband."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from container_runtime.local import Estimator
from container_runtime.local.tuning.ranges import CategoricalParameter, ContinuousParameter, IntegerParameter
from container_runtime.local.tuning.tuner import HyperparameterTuner

pytest.importorskip("optuna")
REPO = Path(__file__).resolve().parents[3]
BRANIN = REPO / "examples" / "tuning" / "branin.py"
EPOCHS = REPO / "test" / "scripts" / "epochs_objective.py"
BRANIN_METRIC = [{"Name": "branin", "Regex": r"branin = ([-0-9.]+)"}]
LOSS_METRIC = [{"Name": "loss", "Regex": r"loss = ([0-9.]+)"}]


def estimator(home: Path, script: Path, **hyperparameters: Any) -> Estimator:
    return Estimator(str(script), hyperparameters=hyperparameters, jobs_dir=home / "jobs",
                     endpoints_dir=home / "endpoints", console=None)


def branin_ranges() -> dict[str, Any]:
    return {"x1": ContinuousParameter(-5, 10), "x2": ContinuousParameter(0, 15)}


def sent(description: dict[str, Any], job_name: str) -> dict[str, str]:
    job_dir = Path(next(job for job in _jobs(description) if job == job_name))
    return json.loads((job_dir / "hosts" / "algo-1" / "input" / "config" / "hyperparameters.json").read_text())


def _jobs(description: dict[str, Any]) -> list[str]:
    return sorted(str(path) for path in (Path(description["TuningDir"]) / "jobs").iterdir())


def test_trials_run_in_parallel_and_receive_values_as_the_sdk_sends_them(tmp_path: Path) -> None:
    tuner = HyperparameterTuner(
        estimator(tmp_path, BRANIN, note="static"), "branin",
        {**branin_ranges(), "level": IntegerParameter(1, 3), "mode": CategoricalParameter.of(["a", "b"])},
        BRANIN_METRIC, strategy="Random", objective_type="Minimize", max_jobs=4, max_parallel_jobs=2,
        random_seed=3, console=None,
    )
    result = tuner.fit(job_name="random-branin")
    described = result.description
    assert result.status == "Completed"
    assert described["TrainingJobStatusCounters"]["Completed"] == 4
    assert described["ObjectiveStatusCounters"] == {"Succeeded": 4, "Pending": 0, "Failed": 0}
    job_dirs = _jobs(described)
    assert [Path(job).name[:-5] for job in job_dirs] == [f"random-branin-00{n}" for n in range(1, 5)]
    config = json.loads((Path(job_dirs[0]) / "hosts" / "algo-1" / "input" / "config" / "hyperparameters.json")
                        .read_text())
    assert config["_tuning_objective_metric"] == "branin"  # raw, as SageMaker sends it
    assert config["note"] == '"static"'
    assert config["level"] in ('1', '2', '3')  # an integer, never "2.0"
    assert config["mode"] in ('"a"', '"b"')
    float(config["x1"])
    frame = tuner.analytics()
    assert list(frame.columns)[:4] == ["level", "mode", "x1", "x2"]
    assert {"TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue", "TrainingStartTime", "TrainingEndTime",
            "TrainingElapsedTimeSeconds"} <= set(frame.columns)
    best = described["BestTrainingJob"]
    assert best["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == frame["FinalObjectiveValue"].min()
    starts = sorted(frame["TrainingStartTime"])
    ends = sorted(frame["TrainingEndTime"])
    assert starts[1] < ends[0]  # two jobs ran at the same time
    for report in ("describe.json", "analytics.csv", "optimization_history.png", "parallel_coordinates.png"):
        assert (result.tuning_dir / report).is_file()


def test_a_job_that_never_emits_its_objective_is_an_objective_failure(tmp_path: Path) -> None:
    tuner = HyperparameterTuner(estimator(tmp_path, EPOCHS, silent=True, epochs=1), "loss",
                                {"offset": ContinuousParameter(0, 1)}, LOSS_METRIC, strategy="Random",
                                objective_type="Minimize", max_jobs=2, console=None)
    result = tuner.fit()
    assert result.status == "Completed"
    assert result.description["TrainingJobStatusCounters"]["Completed"] == 2
    assert result.description["ObjectiveStatusCounters"]["Failed"] == 2
    assert "BestTrainingJob" not in result.description


def test_failed_jobs_are_retried_then_the_failure_limit_fails_the_tuning_job(tmp_path: Path) -> None:
    tuner = HyperparameterTuner(estimator(tmp_path, EPOCHS, fail=True), "loss", {"offset": ContinuousParameter(0, 1)},
                                LOSS_METRIC, strategy="Random", objective_type="Minimize", max_jobs=3,
                                max_failed_jobs=2, max_retries=1, console=None)
    result = tuner.fit(job_name="failing")
    assert result.status == "Failed"
    assert result.description["FailureReason"] == "2 training jobs failed (MaxFailedTrainingJobs 2)"
    names = [Path(job).name for job in _jobs(result.description)]
    assert any(name.endswith("-retry1") for name in names), names


def test_grid_runs_every_combination_once(tmp_path: Path) -> None:
    ranges = {"offset": CategoricalParameter.of([0.0, 0.5]), "epochs": CategoricalParameter.of([1, 2])}
    tuner = HyperparameterTuner(estimator(tmp_path, EPOCHS, **{"seconds-per-epoch": 0}), "loss", ranges, LOSS_METRIC,
                                strategy="Grid", objective_type="Minimize", max_parallel_jobs=2, console=None)
    result = tuner.fit()
    frame = tuner.analytics()
    assert len(frame) == 4
    assert sorted(zip(frame["offset"], frame["epochs"], strict=True)) == [(0.0, 1), (0.0, 2), (0.5, 1), (0.5, 2)]
    assert result.description["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] == 0.5


def test_reaching_the_target_completes_the_tuning_job(tmp_path: Path) -> None:
    tuner = HyperparameterTuner(estimator(tmp_path, BRANIN), "branin", branin_ranges(), BRANIN_METRIC,
                                strategy="Random", objective_type="Minimize", max_jobs=30, random_seed=0,
                                target_objective_value=60.0, console=None)
    result = tuner.fit()
    assert result.status == "Completed"
    assert "reached the target objective value 60" in result.description["CompletionReason"]
    assert sum(result.description["TrainingJobStatusCounters"].values()) < 30


def test_early_stopping_stops_a_clearly_worse_job_which_checkpoints_on_sigterm(tmp_path: Path) -> None:
    common = {"epochs": 8, "seconds-per-epoch": 0.4}
    parent = HyperparameterTuner(estimator(tmp_path, EPOCHS, **common), "loss",
                                 {"offset": CategoricalParameter.of([0.0, 0.01, 0.02])}, LOSS_METRIC,
                                 strategy="Grid", objective_type="Minimize", max_parallel_jobs=3, console=None)
    assert parent.fit(job_name="good-ones").status == "Completed"
    child = HyperparameterTuner(estimator(tmp_path, EPOCHS, **common), "loss",
                                {"offset": CategoricalParameter.of([5.0])}, LOSS_METRIC, strategy="Random",
                                objective_type="Minimize", max_jobs=1, early_stopping_type="Auto",
                                warm_start_parents=["good-ones"], console=None)
    result = child.fit(job_name="bad-one")
    frame = child.analytics()
    assert list(frame["TrainingJobStatus"]) == ["Stopped"]
    job_dir = Path(_jobs(result.description)[0])
    assert (job_dir / "hosts" / "algo-1" / "model" / "sigterm.txt").is_file()
    assert "saved a checkpoint on SIGTERM" in (job_dir / "logs" / "algo-1.log").read_text()
    assert result.description["WarmStartConfig"]["ParentHyperParameterTuningJobs"] == [
        {"HyperParameterTuningJobName": "good-ones"}
    ]
    assert result.description["OverallBestTrainingJob"]["TuningJobName"] == "good-ones"
    assert float(frame["TrainingElapsedTimeSeconds"][0]) < 8 * 0.4


def test_hyperband_stops_jobs_that_fall_behind(tmp_path: Path) -> None:
    tuner = HyperparameterTuner(estimator(tmp_path, EPOCHS, epochs=9, **{"seconds-per-epoch": 0.05}), "loss",
                                {"offset": ContinuousParameter(0, 10)}, LOSS_METRIC, strategy="Hyperband",
                                objective_type="Minimize", max_jobs=8, max_parallel_jobs=1, random_seed=0,
                                console=None)
    result = tuner.fit()
    frame = tuner.analytics()
    assert result.status == "Completed"
    assert (frame["TrainingJobStatus"] == "Stopped").any(), frame
    assert (frame["TrainingJobStatus"] == "Completed").any()
