"""One process's share of a tuning job: start trials up to `max_parallel_jobs`, tell the study how
each ended, until a completion criterion (`criteria.ended_by`) or the budget ends it.

The main thread blocks on one queue: each trial's worker thread puts its finished job there, and
SIGINT puts a stop marker (`SimpleQueue.put` is safe in a signal handler). So a job that ends is
told at once, and nothing polls; when no job ends for `CHECK_INTERVAL` seconds the wait times out
to re-check the criteria other processes or the clock may have met, and to refresh the live view.
"""

from __future__ import annotations

import queue
import signal
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from container_runtime.local.status import JobStatus
from container_runtime.local.training import JobControl, TrainingJobSpec
from container_runtime.local.tuning import records as r
from container_runtime.local.tuning.config import TuningConfig
from container_runtime.local.tuning.criteria import Ending, all_jobs_ran, ended_by
from container_runtime.local.tuning.known import KnownRecords
from container_runtime.local.tuning.live import TrialBoard
from container_runtime.local.tuning.ranges import distribution
from container_runtime.local.tuning.trials import (
    Finished,
    Running,
    TrialRunner,
    job_name,
    outcome,
    started_attrs,
    trial_spec,
)
from container_runtime.local.tuning.watch import watcher

CHECK_INTERVAL = 0.5
INTERRUPTED = "interrupted"


class LoopEnd(NamedTuple):
    """The tuning job as this process saw it end."""

    status: str
    completion: str | None
    failure: str | None


class TuningLoop:
    def __init__(self, study: Any, config: TuningConfig, template: TrainingJobSpec, tuning_dir: Path,
                 run_trial: TrialRunner, console: TextIO | None) -> None:
        self.study = study
        self.config = config
        self.template = template
        self.tuning_dir = tuning_dir
        self.run_trial = run_trial
        self.lock = threading.RLock()  # the study is shared with the trials' watchers
        self.known = KnownRecords(study)
        self.synced_status: str | None = None
        self.sync_due = 0.0
        self.events: queue.SimpleQueue[Finished | str] = queue.SimpleQueue()
        self.running: dict[int, Running] = {}
        self.distributions = {name: distribution(parameter) for name, parameter in config.ranges.items()}
        self.positions = _Positions()
        self.launching = True
        self.ended = False  # a completion criterion held: no more jobs, not even retries
        self.interrupted = False
        self.started = time.monotonic()
        self.view = (TrialBoard(console, config.objective.metric_name, config.objective.objective_type)
                     if console is not None else None)
        self.view_due = 0.0

    def run(self) -> LoopEnd:
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, self._interrupt) if in_main else None
        try:
            return self._run()
        finally:
            if previous is not None:
                signal.signal(signal.SIGINT, previous)
            if self.view is not None:
                self.view_due = 0.0
                self._refresh_view()
                self.view.close()

    def _run(self) -> LoopEnd:
        completion: str | None = None
        failure: str | None = None
        while True:
            ending = self._ending()
            if ending is not None:
                self.launching, self.ended = False, True
                if ending.status == JobStatus.FAILED:
                    failure = ending.reason
                else:
                    completion = ending.reason
                if ending.stop_running:
                    self._stop_all(ending.reason)
            if self.launching and not self.interrupted:
                self._launch_more()
            if not self.launching and not self.running:
                break
            event = self._next_event()
            if event == INTERRUPTED:
                self._stop_all("the tuning job was stopped")
                self._drain()
                return LoopEnd(JobStatus.STOPPED, None, None)
            if isinstance(event, Finished):
                self._tell(event)
            self._refresh_view()
        if failure is not None:
            return LoopEnd(JobStatus.FAILED, None, failure)
        return LoopEnd(JobStatus.COMPLETED, completion or all_jobs_ran(self.config), None)

    def _ending(self) -> Ending | None:
        """A criterion met, judged on this process's records, synced with the storage every CHECK_INTERVAL."""
        now = time.monotonic()
        with self.lock:
            if now >= self.sync_due:  # what other tuner processes did, and whether one ended the tuning job
                self.sync_due = now + CHECK_INTERVAL
                self.known.sync()
                self.synced_status = self.study.user_attrs.get(r.STATUS)
            records = self.known.read()
        if self.synced_status in (JobStatus.STOPPED, JobStatus.FAILED):
            return Ending(JobStatus.FAILED, f"another tuner ended it ({self.synced_status})", True)
        return ended_by(records, self.config, now - self.started)

    def _next_event(self) -> Finished | str | None:
        try:
            return self.events.get(timeout=CHECK_INTERVAL)
        except queue.Empty:
            return None

    # Starting trials ------------------------------------------------------------------------

    def _launch_more(self) -> None:
        """Start jobs up to the parallel limit; stop launching once the budget is spent."""
        while len(self.running) < self.config.max_parallel_jobs:
            with self.lock:
                trial = self.study.ask(self.distributions)
                enqueued = trial.user_attrs  # a retry's attempt and the job it retries
                attempt = int(enqueued.get(r.ATTEMPT) or 1)
                position = self.positions.of(self.study, trial.number)
                if position >= self.config.max_jobs and attempt == 1:
                    trial.set_user_attr(r.DISCARDED, True)
                    self.study.tell(trial, state=_state("FAIL"))
                    self.known.update(trial.number, {r.DISCARDED: True}, finished=True)
                    self.positions.asked(trial.number, first_attempt=False)
                    self.launching = False
                    return
                self.positions.asked(trial.number, first_attempt=attempt == 1)
                name = job_name(self.study.study_name, position, attempt, enqueued.get(r.RETRY_OF))
                spec = trial_spec(self.template, self.tuning_dir, name, self.config.ranges, trial.params)
                tuned = {parameter: spec.hyperparameters[parameter] for parameter in self.config.ranges}
                started = started_attrs(name, tuned, spec.jobs_dir / name)
                for key, value in started.items():
                    trial.set_user_attr(key, value)
                self.known.update(trial.number, {**enqueued, **started})
            running = Running(trial, name, attempt, JobControl(), [], time.monotonic())
            running.control.on_line = watcher(running, self.config, self.lock, self._peer_series)
            self.running[trial.number] = running
            threading.Thread(target=self._run_trial, args=(running, spec), name=name, daemon=True).start()
            self.view_due = 0.0

    def _run_trial(self, running: Running, spec: TrainingJobSpec) -> None:
        try:
            self.events.put(Finished(running, self.run_trial(spec, running.control), None))
        except Exception as error:  # noqa: BLE001 - reported as this job's failure, the tuning goes on
            self.events.put(Finished(running, None, f"{type(error).__name__}: {error}"))

    def _peer_series(self, running: Running) -> list[Sequence[float]]:
        """Objective values of every other job at hand: finished ones (any process's, parents'), running ones here."""
        series: list[Sequence[float]] = [list(other.values) for number, other in list(self.running.items())
                                         if number != running.trial.number]
        with self.lock:
            records = self.known.read(include_parents=True)
        series += [[value for _, value in record.objective_series] for record in records
                   if record.number not in self.running and record.objective_series]
        return series

    # Ending trials --------------------------------------------------------------------------

    def _tell(self, finished: Finished) -> None:
        running = finished.running
        self.running.pop(running.trial.number, None)
        told = outcome(finished, self.config.objective, time.time(), time.monotonic())
        with self.lock:
            for key, value in told.attrs.items():
                running.trial.set_user_attr(key, value)
            if told.state == "COMPLETE":
                self.study.tell(running.trial, told.value)
            else:
                self.study.tell(running.trial, state=_state(told.state))
            self.known.update(running.trial.number, told.attrs, finished=True)
            retryable = told.job_status == JobStatus.FAILED and running.attempt <= self.config.max_retries
            if retryable and not self.interrupted:
                retry = {r.ATTEMPT: running.attempt + 1, r.RETRY_OF: running.job_name}
                self.study.enqueue_trial(dict(running.trial.params), user_attrs=retry, skip_if_exists=False)
                self.launching = not self.ended  # the next ask takes the retry, even once the budget is spent
        self.view_due = 0.0

    def _stop_all(self, reason: str) -> None:
        for running in list(self.running.values()):
            if not running.control.stop_requested.is_set():
                running.control.stop(reason)

    def _drain(self) -> None:
        while self.running:
            event = self._next_event()
            if isinstance(event, Finished):
                self._tell(event)

    def _interrupt(self, signum: int, frame: object) -> None:
        self.interrupted = True
        self.events.put(INTERRUPTED)

    # The live view --------------------------------------------------------------------------

    def _refresh_view(self) -> None:
        """Right after a job starts or ends, else every CHECK_INTERVAL seconds."""
        now = time.monotonic()
        if self.view is None or now < self.view_due:
            return
        self.view_due = now + CHECK_INTERVAL
        with self.lock:
            records = self.known.read()
        elapsed = {running.job_name: now - running.started for running in self.running.values()}
        self.view.update(records, elapsed, r.best_record(records, self.config.objective.objective_type))


class _Positions:
    """How many of the tuning job's own first attempts (of any process) come before a trial: its
    place in the budget. Whether a trial is a first attempt is known when it is created (a retry is
    enqueued with its attempt, a warm-start copy with its parent), so each trial is counted once,
    and this process's own trials without reading the study; a trial discarded later was beyond
    the budget, as is every trial after it. Optuna's storages list trials in number order."""

    def __init__(self) -> None:
        self.examined = 0  # trials numbered below this are counted
        self.first_attempts = 0
        self.known: dict[int, bool] = {}  # trials at or above `examined` this process asked

    def asked(self, number: int, *, first_attempt: bool) -> None:
        self.known[number] = first_attempt

    def of(self, study: Any, number: int) -> int:
        if any(other not in self.known for other in range(self.examined, number)):
            trials = study.get_trials(deepcopy=False)  # another process asked some: read them
            for expected, trial in enumerate(trials[self.examined : number], self.examined):
                assert trial.number == expected, "trials out of number order"
                self.known.setdefault(expected, _first_attempt(trial.user_attrs))
        for other in range(self.examined, number):
            self.first_attempts += self.known.pop(other)
        self.examined = max(self.examined, number)
        return self.first_attempts


def _first_attempt(attrs: Any) -> bool:
    return not (attrs.get(r.PARENT) or attrs.get(r.DISCARDED) or int(attrs.get(r.ATTEMPT) or 1) > 1)


def _state(name: str) -> Any:
    from optuna.trial import TrialState

    return TrialState[name]
