"""`HyperparameterTuner`: SageMaker's tuning job, run locally on Optuna.

Each trial is a local training job (its own job dir, `train` per host) started in a worker
thread; the main thread asks the sampler for new points while fewer than `max_parallel_jobs`
run, watches every job's objective as its log lines arrive (for early stopping and Hyperband),
tells the study each outcome, and checks the completion criteria. Tuned values reach the job
JSON-encoded as the SDK sends them, with `_tuning_objective_metric` added as a raw string.
"""

from __future__ import annotations

import json
import queue
import secrets
import signal
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from container_runtime.local.describe import iso_time, write_description
from container_runtime.local.errors import LocalModeError
from container_runtime.local.metrics import MetricCollector, MetricDefinition, metric_definitions
from container_runtime.local.names import validate_name
from container_runtime.local.training import (
    JobControl,
    TrainingJobResult,
    TrainingJobSpec,
    check_spec,
    run_training_job,
)
from container_runtime.local.tuning import records as r
from container_runtime.local.tuning.early_stopping import MIN_JOBS, WARMUP_STEPS, should_stop
from container_runtime.local.tuning.objective import Objective, objective
from container_runtime.local.tuning.ranges import (
    ParameterRange,
    check_ranges,
    describe_range,
    distribution,
    job_value,
    sampled_value,
)
from container_runtime.local.tuning.strategies import check_strategy, hyperband_max_resource, make_pruner, make_sampler

NAME_LENGTH = 32
POLL_SECONDS = 0.05
CRITERIA_INTERVAL = 0.5
IMPROVEMENT = 0.01  # SageMaker's "improve by 1% or greater"


class TuningJobResult(NamedTuple):
    name: str
    status: str
    description: dict[str, Any]
    tuning_dir: Path

    @property
    def best_training_job(self) -> str | None:
        best = self.description.get("BestTrainingJob")
        return best["TrainingJobName"] if best else None


class _Running(NamedTuple):
    trial: Any
    job_name: str
    control: JobControl
    values: list[float]
    started: float


class HyperparameterTuner:
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
    ) -> None:
        if estimator.backend != "local":
            raise LocalModeError(f"the tuner runs its jobs with the local backend, not {estimator.backend!r}")
        self.estimator = estimator
        self.ranges = dict(hyperparameter_ranges)
        check_ranges(self.ranges)
        static = estimator.hyperparameters
        clashes = sorted(set(static) & set(self.ranges))
        if clashes:
            # The SDK drops static values of tuned names; say so rather than guess.
            raise LocalModeError(f"hyperparameter {clashes[0]!r} is both static and tuned: remove it from one")
        self.definitions: tuple[MetricDefinition, ...] = (
            metric_definitions_from(metric_definitions) if metric_definitions is not None
            else tuple(estimator.metric_definitions)
        )
        if not self.definitions:
            raise LocalModeError(f"objective {objective_metric_name!r}: no metric definitions to read it with")
        self.objective: Objective = objective(objective_metric_name, objective_type, objective_reduction,
                                              [d.name for d in self.definitions])
        if not 1 <= max_parallel_jobs <= 100:
            raise LocalModeError(f"max_parallel_jobs {max_parallel_jobs}: must be 1 to 100")
        self.strategy = strategy
        self.max_jobs = check_strategy(strategy, self.ranges, max_jobs, early_stopping_type)
        self.max_parallel_jobs = max_parallel_jobs
        self.max_runtime = max_runtime_in_seconds
        self.early_stopping_type = early_stopping_type
        self.seed = random_seed
        self.base_name = base_tuning_job_name or Path(estimator.entry_point).stem
        self.target = target_objective_value
        if max_jobs_not_improving is not None and max_jobs_not_improving < 3:
            raise LocalModeError(f"max_jobs_not_improving {max_jobs_not_improving}: must be at least 3")
        self.not_improving = max_jobs_not_improving
        self.max_failed = max_failed_jobs
        self.max_retries = max_retries
        if warm_start_type not in ("IdenticalDataAndAlgorithm", "TransferLearning"):
            raise LocalModeError(f"warm start type {warm_start_type!r}: IdenticalDataAndAlgorithm or TransferLearning")
        if len(warm_start_parents) > 5:
            raise LocalModeError(f"{len(warm_start_parents)} warm start parents: at most 5")
        self.parents = tuple(warm_start_parents)
        self.warm_start_type = warm_start_type
        self.storage_url = storage
        self.tuning_root = Path(tuning_dir) if tuning_dir is not None else Path(estimator.jobs_dir).parent / "tuning"
        self.bayesian_method = bayesian_method
        self.min_resource = hyperband_min_resource
        self.max_resource = (hyperband_max_resource_for(static, hyperband_max_resource) if strategy == "Hyperband"
                             else None)
        self.es_min_jobs = early_stopping_min_jobs
        self.es_warmup = early_stopping_warmup_steps
        self.console = console
        self.latest: TuningJobResult | None = None
        self._lock = threading.RLock()

    # Public API -------------------------------------------------------------------------------

    def fit(self, inputs: str | Path | Mapping[str, str | Path] | None = None, *, job_name: str | None = None
            ) -> TuningJobResult:
        """Run the tuning job to its end (or join it, when another tuner already runs it)."""
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
        name = validate_name(job_name, "tuning job name") if job_name else _tuning_name(self.base_name)
        if len(name) > NAME_LENGTH:
            raise LocalModeError(f"tuning job name {name!r}: at most {NAME_LENGTH} characters")
        template = check_spec(self.estimator.training_spec(inputs)._replace(
            metric_definitions=self.definitions,
            raw_hyperparameters={"_tuning_objective_metric": self.objective.metric_name},
        ))
        tuning_dir = self.tuning_root / name
        storage = _open(self.storage_url, tuning_dir)
        options = {
            "study_name": name, "storage": storage,
            "sampler": make_sampler(self.strategy, self.ranges, self.seed, self.bayesian_method),
            "pruner": make_pruner(self.strategy, self.min_resource, self.max_resource),
        }
        try:
            # Creating is atomic in the storage: exactly one process creates, the others join.
            study = optuna.create_study(direction=self.objective.direction, **options)
            joined = False
        except optuna.exceptions.DuplicatedStudyError:
            study = optuna.load_study(**options)
            joined = True
        self._configure(study, name, template, joined)
        if self.console is not None:
            verb = "Joined" if joined else "Started"
            self.console.write(f"{verb} tuning job {name} ({self.strategy}, up to {self.max_jobs} jobs, "
                               f"{self.max_parallel_jobs} at a time); storage {self.storage_url or tuning_dir}\n")
        status = _Loop(self, study, template, tuning_dir).run()
        return self._finish(study, tuning_dir, status)

    def describe(self) -> dict[str, Any]:
        if self.latest is None:
            raise LocalModeError("no tuning job yet: call fit() first")
        return self.latest.description

    def best_training_job(self) -> str:
        best = self.latest.best_training_job if self.latest is not None else None
        if best is None:
            raise LocalModeError("no training job of this tuning job reported its objective")
        return best

    def analytics(self) -> Any:
        """SageMaker's analytics table (a pandas DataFrame), one row per training job."""
        from container_runtime.local.tuning.analytics import analytics_dataframe

        if self.latest is None:
            raise LocalModeError("no tuning job yet: call fit() first")
        study = _load_study(self.latest.name, self.storage_url, self.latest.tuning_dir)
        return analytics_dataframe(r.trial_records(study), self.ranges)

    def deploy(self, *, port: int | None = None, name: str | None = None, workers: int = 1) -> Any:
        """Serve the best training job's model; returns a Predictor that stops it when closed."""
        from container_runtime.local.tuning.deployment import deploy_best

        if self.latest is None:
            raise LocalModeError("no tuning job yet: call fit() first")
        return deploy_best(self.latest, self.estimator, port=port, name=name, workers=workers)

    # Internals ----------------------------------------------------------------------------------

    def _configure(self, study: Any, name: str, template: TrainingJobSpec, joined: bool) -> None:
        """Record the configuration (the creating process) or check that ours matches it (a joining one)."""
        config = {
            "TuningJobName": name,
            "Strategy": self.strategy,
            "ObjectiveMetricName": self.objective.metric_name,
            "ObjectiveType": self.objective.objective_type,
            "ObjectiveReduction": self.objective.reduction,
            "ParameterRanges": [describe_range(n, p) for n, p in self.ranges.items()],
            "MaxJobs": self.max_jobs,
            "MaxParallelJobs": self.max_parallel_jobs,
            "MaxRuntimeInSeconds": self.max_runtime,
            "EarlyStoppingType": self.early_stopping_type,
            "RandomSeed": self.seed,
            "CompletionCriteria": {
                "TargetObjectiveMetricValue": self.target,
                "MaxNumberOfTrainingJobsNotImproving": self.not_improving,
                "MaxFailedTrainingJobs": self.max_failed,
                "MaxRetries": self.max_retries,
            },
            "StaticHyperParameters": {k: json.dumps(v) for k, v in template.hyperparameters.items()},
            "MetricDefinitions": [{"Name": d.name, "Regex": d.regex} for d in self.definitions],
            "EntryPoint": template.entry_point,
            "SourceDir": str(template.source_dir),
            "Framework": self.estimator.preset.name,
            "WarmStartParents": list(self.parents),
            "WarmStartType": self.warm_start_type if self.parents else None,
            "CreationTime": iso_time(time.time()),
        }
        if joined:
            existing = _wait_for_config(study, name)
            for key in ("Strategy", "ObjectiveMetricName", "ObjectiveType", "ParameterRanges", "MaxJobs"):
                if existing.get(key) != config[key]:
                    raise LocalModeError(f"tuning job {name} already exists with another {key}: "
                                         f"{existing.get(key)!r}, not {config[key]!r}")
            if existing and study.user_attrs.get(r.STATUS) != "InProgress":
                raise LocalModeError(f"tuning job {name} has ended ({study.user_attrs.get(r.STATUS)}): "
                                     "give a new name, or warm start from it")
            return
        with self._lock:
            for parent in self.parents:
                self._warm_start_from(study, parent)
            study.set_user_attr(r.STATUS, "InProgress")
            study.set_user_attr(r.CONFIG, config)  # last: a joining process waits for it

    def _warm_start_from(self, study: Any, parent: str) -> None:
        """Copy a parent tuning job's finished trials into this study (not counted as our jobs).

        A parent's value outside our ranges is left out of the copied trial's parameters (Optuna
        keeps one search space per name); the trial's objective series still informs early
        stopping, and its other parameters the sampler.
        """
        import optuna

        source = _load_study(parent, self.storage_url, self.tuning_root / parent)
        if source.user_attrs.get(r.STATUS) not in ("Completed", "Stopped", "Failed"):
            raise LocalModeError(f"warm start parent {parent} has not ended")
        parent_config = source.user_attrs.get(r.CONFIG) or {}
        if parent_config.get("ObjectiveMetricName") != self.objective.metric_name:
            raise LocalModeError(f"warm start parent {parent} tuned {parent_config.get('ObjectiveMetricName')!r}, "
                                 f"not {self.objective.metric_name!r}")
        parent_names = {entry["Name"] for entry in parent_config.get("ParameterRanges", [])}
        if parent_names != set(self.ranges):
            raise LocalModeError(f"warm start parent {parent} tuned {sorted(parent_names)}, not {sorted(self.ranges)}")
        for record in r.trial_records(source):
            if record.final_value is None:
                continue
            params: dict[str, Any] = {}
            distributions: dict[str, Any] = {}
            for name, ours in self.ranges.items():
                value = sampled_value(ours, record.tuned[name])
                candidate = distribution(ours)
                if _contains(candidate, value):
                    params[name] = value
                    distributions[name] = candidate
            attrs = {**source.trials[record.number].user_attrs, r.PARENT: parent}
            study.add_trial(optuna.trial.create_trial(
                params=params, distributions=distributions, value=record.final_value, user_attrs=attrs,
                intermediate_values={step: value for step, (_, value) in enumerate(record.objective_series, 1)},
            ))

    def _finish(self, study: Any, tuning_dir: Path, status: tuple[str, str | None, str | None]) -> TuningJobResult:
        state, completion, failure = status
        with self._lock:
            elsewhere = [rec for rec in r.trial_records(study) if rec.job_status == "InProgress"]
            if state == "Completed" and elsewhere:
                # Other tuner processes still run jobs of this tuning job: the last one to end completes it.
                if self.console is not None:
                    self.console.write(f"This tuner's share is done; {len(elsewhere)} job(s) still run elsewhere\n")
            elif study.user_attrs.get(r.STATUS) == "InProgress" or state in ("Stopped", "Failed"):
                study.set_user_attr(r.STATUS, state)
                study.set_user_attr(r.END_TIME, iso_time(time.time()))
                if completion:
                    study.set_user_attr(r.COMPLETION_REASON, completion)
                if failure:
                    study.set_user_attr(r.FAILURE_REASON, failure)
        from container_runtime.local.tuning.describe import describe_study

        description = describe_study(study)
        description["TuningDir"] = str(tuning_dir)
        tuning_dir.mkdir(parents=True, exist_ok=True)
        write_description(tuning_dir / "describe.json", description)
        _write_reports(study, tuning_dir, description, self.ranges, self.console)
        result = TuningJobResult(study.study_name, description["HyperParameterTuningJobStatus"], description,
                                 tuning_dir)
        self.latest = result
        if self.console is not None:
            best = description.get("BestTrainingJob")
            tail = (f"; best {best['TrainingJobName']} "
                    f"({self.objective.metric_name} = {best['FinalHyperParameterTuningJobObjectiveMetric']['Value']})"
                    if best else "; no job reported its objective")
            self.console.write(f"Tuning job {result.name} {result.status.lower()}"
                               f"{f' ({completion})' if completion else ''}{tail}\n")
        return result


class _Loop:
    """One process's share of a tuning job: launch, watch, tell, until a criterion ends it."""

    def __init__(self, tuner: HyperparameterTuner, study: Any, template: TrainingJobSpec, tuning_dir: Path) -> None:
        self.tuner = tuner
        self.study = study
        self.template = template
        self.tuning_dir = tuning_dir
        self.finished: queue.Queue[tuple[_Running, TrainingJobResult | None, str | None]] = queue.Queue()
        self.running: dict[int, _Running] = {}
        self.distributions = {name: distribution(parameter) for name, parameter in tuner.ranges.items()}
        self.started = time.monotonic()
        self.interrupted = False
        self.board = _Board(tuner, study)

    def run(self) -> tuple[str, str | None, str | None]:
        """(status, completion reason, failure reason) of the tuning job as this process saw it."""
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._interrupt) if in_main else None
        completion: str | None = None
        failure: str | None = None
        launching = True
        checked = 0.0
        try:
            while True:
                changed = self._collect_finished()
                if self.interrupted:
                    self._stop_all("the tuning job was stopped")
                    self._drain()
                    return "Stopped", None, None
                # The criteria read the whole study (a database round trip when shared): after a job
                # ends, and otherwise a few times a second, not on every poll.
                now = time.monotonic()
                ended = None
                if changed or now - checked >= CRITERIA_INTERVAL:
                    checked = now
                    ended = self._ended_by_criteria()
                if ended is not None:
                    kind, reason, stop_running = ended
                    launching = False
                    if kind == "Failed":
                        failure = reason
                    else:
                        completion = reason
                    if stop_running:
                        self._stop_all(reason)
                if launching and not self._launch_more():
                    launching = False
                if not launching and not self.running:
                    break
                self._refresh_board()
                time.sleep(POLL_SECONDS)
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            self.board.close()
        if failure is not None:
            return "Failed", None, failure
        return "Completed", completion or f"all {self.tuner.max_jobs} training jobs ran", None

    # Launching ------------------------------------------------------------------------------

    def _launch_more(self) -> bool:
        """Start jobs up to the parallel limit; False once the budget is spent."""
        tuner = self.tuner
        while len(self.running) < tuner.max_parallel_jobs:
            with tuner._lock:
                trial = self.study.ask(self.distributions)
                position = self._position(trial.number)
                if position >= tuner.max_jobs and not trial.user_attrs.get(r.ATTEMPT):
                    trial.set_user_attr(r.DISCARDED, True)
                    self.study.tell(trial, state=_state("FAIL"))
                    return False
                attempt = int(trial.user_attrs.get(r.ATTEMPT) or 1)
                tuned = {name: job_value(tuner.ranges[name], trial.params[name]) for name in tuner.ranges}
                job_name = f"{self.study.study_name}-{position + 1:03d}-{secrets.token_hex(2)}"
                if attempt > 1:
                    job_name += f"-retry{attempt - 1}"
                spec = self.template._replace(job_name=job_name, jobs_dir=self.tuning_dir / "jobs",
                                              hyperparameters={**self.template.hyperparameters, **tuned})
                job_dir = spec.jobs_dir / job_name
                for key, value in {
                    r.JOB_NAME: job_name, r.JOB_STATUS: "InProgress", r.OBJECTIVE_STATUS: "Pending",
                    r.TUNED: tuned, r.START_TIME: iso_time(time.time()), r.JOB_DIR: str(job_dir),
                    r.LOG_PATH: str(job_dir / "logs" / "algo-1.log"), r.ATTEMPT: attempt,
                }.items():
                    trial.set_user_attr(key, value)
            running = _Running(trial, job_name, JobControl(), [], time.monotonic())
            running.control.on_line = self._watcher(running)
            self.running[trial.number] = running
            threading.Thread(target=self._run_job, args=(running, spec), name=job_name, daemon=True).start()
            self.board.started(job_name, tuned)
        return True

    def _position(self, number: int) -> int:
        """How many of this tuning job's own first attempts came before trial `number` (any process)."""
        count = 0
        for trial in self.study.get_trials(deepcopy=False):
            if trial.number >= number:
                break
            attrs = trial.user_attrs
            if attrs.get(r.PARENT) or attrs.get(r.DISCARDED) or int(attrs.get(r.ATTEMPT) or 1) > 1:
                continue
            count += 1
        return count

    def _run_job(self, running: _Running, spec: TrainingJobSpec) -> None:
        try:
            result = run_training_job(spec, console=None, control=running.control)
            self.finished.put((running, result, None))
        except Exception as error:  # noqa: BLE001 - reported as this job's failure, the tuning goes on
            self.finished.put((running, None, f"{type(error).__name__}: {error}"))

    # Watching -------------------------------------------------------------------------------

    def _watcher(self, running: _Running) -> Any:
        tuner = self.tuner
        collector = MetricCollector([d for d in tuner.definitions if d.name == tuner.objective.metric_name])

        def on_line(host: str, line: str, now: float) -> None:
            for _, value in collector.feed(line, now):
                running.values.append(value)
                step = len(running.values)
                with tuner._lock:
                    try:
                        running.trial.report(value, step)
                    except Exception:  # noqa: BLE001,S110 - a repeated step from another host: keep the first
                        pass
                    if tuner.strategy == "Hyperband" and running.trial.should_prune():
                        running.control.stop(f"Hyperband stopped it at step {step}")
                        return
                if tuner.early_stopping_type == "Auto":
                    reason = should_stop(tuner.objective, running.values, self._other_series(running),
                                         warmup_steps=tuner.es_warmup, min_jobs=tuner.es_min_jobs)
                    if reason is not None:
                        running.control.stop(reason)

        return on_line

    def _other_series(self, running: _Running) -> list[list[float]]:
        """Objective values of every other job at hand: finished ones in storage, running ones here."""
        series = [list(values) for number, other in list(self.running.items())
                  if number != running.trial.number for values in [other.values]]
        with self.tuner._lock:
            records = r.trial_records(self.study, include_parents=True)
        series += [[value for _, value in record.objective_series] for record in records
                   if record.number not in self.running and record.objective_series]
        return series

    # Finishing ------------------------------------------------------------------------------

    def _collect_finished(self) -> bool:
        """Tell the study about every job that ended; True if any did."""
        any_ended = False
        while True:
            try:
                running, result, error = self.finished.get_nowait()
            except queue.Empty:
                return any_ended
            self.running.pop(running.trial.number, None)
            self._tell(running, result, error)
            any_ended = True

    def _tell(self, running: _Running, result: TrainingJobResult | None, error: str | None) -> None:
        tuner = self.tuner
        final = tuner.objective.reduce(running.values)
        job_status = result.status if result is not None else "Failed"
        stopped_by_us = job_status == "Stopped" and bool(running.control.stop_reason)
        succeeded = final is not None and (job_status == "Completed" or stopped_by_us)
        failure = error or (result.description.get("FailureReason") if result is not None else None)
        if job_status == "Completed" and final is None:
            failure = f"the job never emitted its objective {tuner.objective.metric_name!r}"
        now = time.time()
        attrs = {
            r.JOB_STATUS: job_status,
            r.OBJECTIVE_STATUS: "Succeeded" if succeeded else "Failed",
            r.FINAL_VALUE: final if succeeded else None,
            r.END_TIME_TRIAL: iso_time(now),
            r.ELAPSED: round(time.monotonic() - running.started, 3),
            r.JOB_FAILURE: failure,
            r.STOP_REASON: running.control.stop_reason or None,
            r.OBJECTIVE_SERIES: [[now, value] for value in running.values],
        }
        with tuner._lock:
            for key, value in attrs.items():
                running.trial.set_user_attr(key, value)
            if succeeded and job_status == "Completed":
                self.study.tell(running.trial, final)
            elif succeeded:
                self.study.tell(running.trial, state=_state("PRUNED"))
            else:
                self.study.tell(running.trial, state=_state("FAIL"))
            attempt = int(running.trial.user_attrs.get(r.ATTEMPT) or 1)
            if job_status == "Failed" and attempt <= tuner.max_retries and not self.interrupted:
                self.study.enqueue_trial(dict(running.trial.params), user_attrs={r.ATTEMPT: attempt + 1},
                                         skip_if_exists=False)
        self.board.ended(running.job_name, job_status, final if succeeded else None,
                         failure or running.control.stop_reason or None)

    # Criteria -------------------------------------------------------------------------------

    def _ended_by_criteria(self) -> tuple[str, str, bool] | None:
        """(status, reason, stop the running jobs) once a completion criterion holds."""
        tuner = self.tuner
        with tuner._lock:
            status = self.study.user_attrs.get(r.STATUS)
            records = r.trial_records(self.study)
        if status in ("Stopped", "Failed"):
            return "Failed", f"another tuner ended it ({status})", True
        finals = [rec for rec in records if rec.job_status != "InProgress"]
        failed = [rec for rec in finals if rec.job_status == "Failed" and not self._retried(rec)]
        if tuner.max_failed is not None and len(failed) >= tuner.max_failed:
            return "Failed", f"{len(failed)} training jobs failed (MaxFailedTrainingJobs {tuner.max_failed})", True
        best = r.best_record(records, tuner.objective.objective_type)
        if tuner.target is not None and best is not None and best.final_value is not None and not tuner.objective.worse(
            best.final_value, tuner.target
        ):
            return "Completed", f"{best.job_name} reached the target objective value {tuner.target:g}", True
        if tuner.not_improving is not None:
            streak = _not_improving_streak(records, tuner.objective)
            if streak >= tuner.not_improving:
                return "Completed", f"{streak} training jobs did not improve the objective by 1% or more", False
        if tuner.max_runtime is not None and time.monotonic() - self.started >= tuner.max_runtime:
            return "Completed", f"MaxRuntimeInSeconds ({tuner.max_runtime:g} s) reached", True
        return None

    def _retried(self, record: r.TrialRecord) -> bool:
        attempt = int(self.study.trials[record.number].user_attrs.get(r.ATTEMPT) or 1)
        return attempt <= self.tuner.max_retries

    def _stop_all(self, reason: str) -> None:
        for running in list(self.running.values()):
            if not running.control.stop_requested.is_set():
                running.control.stop(reason)

    def _drain(self) -> None:
        while self.running:
            self._collect_finished()
            time.sleep(POLL_SECONDS)

    def _interrupt(self, signum: int, frame: object) -> None:
        self.interrupted = True

    def _refresh_board(self) -> None:
        now = time.monotonic()
        self.board.tick({running.job_name: now - running.started for running in self.running.values()})


def _wait_for_config(study: Any, name: str, timeout: float = 60.0) -> dict[str, Any]:
    """The creating process writes the configuration just after creating the study."""
    deadline = time.monotonic() + timeout
    while True:
        config = study.user_attrs.get(r.CONFIG)
        if config is not None:
            return dict(config)
        if time.monotonic() > deadline:
            raise LocalModeError(f"tuning job {name} exists but was never configured (its creator died?)")
        time.sleep(0.1)


def _contains(candidate: Any, value: Any) -> bool:
    try:
        return bool(candidate._contains(candidate.to_internal_repr(value)))  # noqa: SLF001
    except (ValueError, TypeError):
        return False


def _not_improving_streak(records: Sequence[r.TrialRecord], objective: Objective) -> int:
    """Jobs, in the order they ended, since the last one that beat the best by 1% or more."""
    ended = sorted((rec for rec in records if rec.final_value is not None and rec.end_time),
                   key=lambda rec: rec.end_time or "")
    best: float | None = None
    streak = 0
    for record in ended:
        assert record.final_value is not None
        if objective.improves_by(record.final_value, best, IMPROVEMENT):
            streak = 0
        else:
            streak += 1
        if best is None or not objective.worse(record.final_value, best):
            best = record.final_value
    return streak


class _Board:
    """Feeds the live view (`live.TrialBoard`) from the study: at once on events, else twice a second."""

    REFRESH = 0.5

    def __init__(self, tuner: HyperparameterTuner, study: Any) -> None:
        from container_runtime.local.tuning.live import TrialBoard

        self.tuner = tuner
        self.study = study
        self.view = (TrialBoard(tuner.console, tuner.objective.metric_name, tuner.objective.objective_type)
                     if tuner.console is not None else None)
        self.refreshed = 0.0

    def started(self, job_name: str, tuned: Mapping[str, Any]) -> None:
        self.refreshed = 0.0

    def ended(self, job_name: str, status: str, value: float | None, note: str | None) -> None:
        self.refreshed = 0.0

    def tick(self, running: Mapping[str, float]) -> None:
        now = time.monotonic()
        if self.view is None or now - self.refreshed < self.REFRESH:
            return
        self.refreshed = now
        with self.tuner._lock:
            records = r.trial_records(self.study)
        self.view.update(records, running, r.best_record(records, self.tuner.objective.objective_type))

    def close(self) -> None:
        self.refreshed = 0.0
        self.tick({})
        if self.view is not None:
            self.view.close()


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _state(name: str) -> Any:
    from optuna.trial import TrialState

    return getattr(TrialState, name)


def _open(url: str | None, tuning_dir: Path) -> Any:
    from container_runtime.local.tuning.storage import open_storage

    return open_storage(url, tuning_dir)


def _load_study(name: str, url: str | None, tuning_dir: Path) -> Any:
    import optuna

    try:
        return optuna.load_study(study_name=name, storage=_open(url, tuning_dir))
    except KeyError:
        raise LocalModeError(f"no tuning job {name} in {url or tuning_dir}") from None


def _tuning_name(base: str) -> str:
    stamp = time.strftime("%y%m%d-%H%M%S", time.gmtime())
    cleaned = "".join(c if c.isalnum() or c == "-" else "-" for c in base).strip("-") or "tuning"
    return f"{cleaned[: NAME_LENGTH - len(stamp) - 6]}-{stamp}-{secrets.token_hex(2)}"


def metric_definitions_from(raw: Sequence[Mapping[str, str]] | Mapping[str, str]) -> tuple[MetricDefinition, ...]:
    return metric_definitions(raw)


def hyperband_max_resource_for(static: Mapping[str, Any], given: int | None) -> int:
    return hyperband_max_resource(static, given)


def _write_reports(study: Any, tuning_dir: Path, description: Mapping[str, Any],
                   ranges: Mapping[str, ParameterRange], console: TextIO | None) -> None:
    """analytics.csv and the plots; a missing optional package costs the report, not the job."""
    try:
        from container_runtime.local.tuning.analytics import export_csv
        from container_runtime.local.tuning.plots import importances, write_plots

        records = r.trial_records(study)
        export_csv(records, tuning_dir / "analytics.csv")
        config = description["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]
        write_plots(records, config["Type"], config["MetricName"], tuning_dir, importances(study))
    except ImportError as error:
        if console is not None:
            console.write(f"  no analytics or plots: {error} (pip install 'container-runtime[tuning]')\n")
