"""`HyperparameterTuner`: SageMaker's tuning job, run locally on Optuna.

The tuner is a facade. `config.tuning_config` checks its arguments into a frozen `TuningConfig`;
`fit` creates or joins the study (`study`, `warm_start`), hands it to `loop.TuningLoop`, which runs
the trials in worker threads and ends on `criteria.ended_by`, and writes the reports (`reports`).
Tuned values reach each job JSON-encoded as the SDK sends them, with `_tuning_objective_metric`
added as a raw string.
"""

from __future__ import annotations

import secrets
import sys
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, TextIO

from container_runtime.local.describe import iso_time
from container_runtime.local.errors import LocalModeError
from container_runtime.local.names import validate_name
from container_runtime.local.status import JobStatus
from container_runtime.local.training import check_spec
from container_runtime.local.tuning import records as r
from container_runtime.local.tuning.analytics import analytics_dataframe
from container_runtime.local.tuning.config import recorded_config, tuning_config
from container_runtime.local.tuning.deployment import best_predictor
from container_runtime.local.tuning.early_stopping import MIN_JOBS, WARMUP_STEPS
from container_runtime.local.tuning.loop import LoopEnd, TuningLoop
from container_runtime.local.tuning.ranges import ParameterRange
from container_runtime.local.tuning.reports import TuningJobResult, summary, write_reports
from container_runtime.local.tuning.study import (
    check_joined,
    create_or_join,
    load_study,
    mark_started,
    record_end,
    still_running_elsewhere,
)
from container_runtime.local.tuning.trials import TrialRunner, run_local_job
from container_runtime.local.tuning.warm_start import warm_start

__all__ = ["HyperparameterTuner", "TuningJobResult"]

NAME_LENGTH = 32


class HyperparameterTuner:
    """SageMaker's `HyperparameterTuner`: the arguments are the SDK's (checked by `tuning_config`).

    `run_trial` runs each trial's training job (default: a local training job; see `trials.TrialRunner`).
    """

    def __init__(
        self,
        estimator: Any,
        objective_metric_name: str,
        hyperparameter_ranges: Mapping[str, ParameterRange],
        metric_definitions: Sequence[Mapping[str, str]] | Mapping[str, str] | None = None,
        *,
        strategy: str = "Bayesian",
        objective_type: str = "Maximize",
        objective_reduction: str = "last",
        max_jobs: int | None = None,
        max_parallel_jobs: int = 1,
        max_runtime_in_seconds: float | None = None,
        early_stopping_type: str = "Off",
        random_seed: int | None = None,
        base_tuning_job_name: str | None = None,
        target_objective_value: float | None = None,
        max_jobs_not_improving: int | None = None,
        max_failed_jobs: int | None = None,
        max_retries: int = 0,
        warm_start_parents: Sequence[str] = (),
        warm_start_type: str = "IdenticalDataAndAlgorithm",
        storage: str | None = None,
        tuning_dir: str | Path | None = None,
        bayesian_method: str = "tpe",
        hyperband_min_resource: int = 1,
        hyperband_max_resource: int | None = None,
        early_stopping_min_jobs: int = MIN_JOBS,
        early_stopping_warmup_steps: int = WARMUP_STEPS,
        console: TextIO | None = sys.stdout,
        run_trial: TrialRunner = run_local_job,
    ) -> None:
        self.config = tuning_config(
            estimator, objective_metric_name, hyperparameter_ranges, metric_definitions, strategy=strategy,
            objective_type=objective_type, objective_reduction=objective_reduction, max_jobs=max_jobs,
            max_parallel_jobs=max_parallel_jobs, max_runtime_in_seconds=max_runtime_in_seconds,
            early_stopping_type=early_stopping_type, random_seed=random_seed,
            base_tuning_job_name=base_tuning_job_name, target_objective_value=target_objective_value,
            max_jobs_not_improving=max_jobs_not_improving, max_failed_jobs=max_failed_jobs, max_retries=max_retries,
            warm_start_parents=warm_start_parents, warm_start_type=warm_start_type, storage=storage,
            tuning_dir=tuning_dir, bayesian_method=bayesian_method, hyperband_min_resource=hyperband_min_resource,
            hyperband_max_resource=hyperband_max_resource, early_stopping_min_jobs=early_stopping_min_jobs,
            early_stopping_warmup_steps=early_stopping_warmup_steps,
        )
        self.estimator = estimator
        self.console = console
        self.run_trial = run_trial
        self.latest: TuningJobResult | None = None

    def fit(self, inputs: str | Path | Mapping[str, str | Path] | None = None, *, job_name: str | None = None
            ) -> TuningJobResult:
        """Run the tuning job to its end (or join it, when another tuner already runs it)."""
        config = self.config
        name = validate_name(job_name, "tuning job name") if job_name else _tuning_name(config.base_name)
        if len(name) > NAME_LENGTH:
            raise LocalModeError(f"tuning job name {name!r}: at most {NAME_LENGTH} characters")
        template = check_spec(self.estimator.training_spec(inputs)._replace(
            metric_definitions=config.definitions,
            raw_hyperparameters={"_tuning_objective_metric": config.objective.metric_name},
        ))
        tuning_dir = config.tuning_root / name
        study, joined = create_or_join(name, config, tuning_dir)
        recorded = recorded_config(config, name, template, self.estimator.preset.name, iso_time(time.time()))
        if joined:
            check_joined(study, name, recorded)
        else:
            warm_start(study, config)
            mark_started(study, recorded)
        self._say(f"{'Joined' if joined else 'Started'} tuning job {name} ({config.strategy}, up to {config.max_jobs} "
                  f"jobs, {config.max_parallel_jobs} at a time); storage {config.storage or tuning_dir}\n")
        end = TuningLoop(study, config, template, tuning_dir, self.run_trial, self.console).run()
        return self._finish(study, tuning_dir, end)

    def describe(self) -> dict[str, Any]:
        return self._latest().description

    def best_training_job(self) -> str:
        best = self.latest.best_training_job if self.latest is not None else None
        if best is None:
            raise LocalModeError("no training job of this tuning job reported its objective")
        return best

    def analytics(self) -> Any:
        """SageMaker's analytics table (a pandas DataFrame), one row per training job."""
        latest = self._latest()
        study = load_study(latest.name, self.config.storage, latest.tuning_dir)
        return analytics_dataframe(r.trial_records(study), self.config.ranges)

    def deploy(self, *, port: int | None = None, name: str | None = None, workers: int = 1) -> Any:
        """Serve the best training job's model; returns a Predictor that stops it when closed."""
        return best_predictor(self._latest(), self.estimator, port=port, name=name, workers=workers)

    def _finish(self, study: Any, tuning_dir: Path, end: LoopEnd) -> TuningJobResult:
        elsewhere = still_running_elsewhere(study) if end.status == JobStatus.COMPLETED else 0
        if elsewhere:
            # Other tuner processes still run jobs of this tuning job: the last one to end completes it.
            self._say(f"This tuner's share is done; {elsewhere} job(s) still run elsewhere\n")
        else:
            record_end(study, end.status, end.completion, end.failure)
        self.latest = write_reports(study, tuning_dir, self.config.ranges, self.console)
        self._say(summary(self.latest, end.completion))
        return self.latest

    def _latest(self) -> TuningJobResult:
        if self.latest is None:
            raise LocalModeError("no tuning job yet: call fit() first")
        return self.latest

    def _say(self, text: str) -> None:
        if self.console is not None:
            self.console.write(text)


def _tuning_name(base: str) -> str:
    stamp = time.strftime("%y%m%d-%H%M%S", time.gmtime())
    cleaned = "".join(c if c.isalnum() or c == "-" else "-" for c in base).strip("-") or "tuning"
    return f"{cleaned[: NAME_LENGTH - len(stamp) - 6]}-{stamp}-{secrets.token_hex(2)}"
