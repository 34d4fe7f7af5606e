"""The records of a tuning job as one tuner process knows them, cheap to read after every job.

Reading the whole study from storage is a pass over every trial (a database query when shared),
so a process that reads the records after every job, for the live view and for each objective
value early stopping weighs, would pay for the whole study on every trial. `KnownRecords` reads
the study only on `sync` (the loop syncs a few times a second) and in between applies what this
process writes (`update`): its own jobs are always current, other processes' as of the last sync.

A finished trial's attributes are final (the tuner sets them before it tells the study), so the
records of the finished trials numbered below the first unfinished one are built once; a read
builds records only for the trials after them, the few that run or ended since. Optuna's
storages list a study's trials in number order (its samplers rely on it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

from container_runtime.local.tuning.records import TrialRecord, job_record


class _Trial(NamedTuple):
    attrs: Mapping[str, Any]
    finished: bool
    record: TrialRecord | None


class KnownRecords:
    def __init__(self, study: Any) -> None:
        self.study = study
        self._settled = 0  # trials numbered below this are finished, their records below
        self._all: list[TrialRecord] = []
        self._own: list[TrialRecord] = []  # without warm-start parents' jobs
        self._tail: dict[int, _Trial] = {}  # trials numbered from _settled on, as far as known

    def sync(self) -> None:
        """Read the trials not settled yet from storage."""
        trials = self.study.get_trials(deepcopy=False)
        self._tail = {}
        for number, trial in enumerate(trials[self._settled :], self._settled):
            assert trial.number == number, "trials out of number order"
            attrs = trial.user_attrs
            self._tail[number] = _Trial(attrs, trial.state.is_finished(), job_record(number, attrs))
        self._settle()

    def update(self, number: int, attrs: Mapping[str, Any], *, finished: bool = False) -> None:
        """This process set `attrs` on trial `number` (and told the study it ended, if `finished`)."""
        known = self._tail.get(number)
        merged = {**known.attrs, **attrs} if known is not None else dict(attrs)
        self._tail[number] = _Trial(merged, finished or (known is not None and known.finished),
                                    job_record(number, merged))
        self._settle()

    def read(self, *, include_parents: bool = False) -> list[TrialRecord]:
        """Every training job known, in trial order (warm-start parents' only when asked)."""
        fresh = [self._tail[number].record for number in sorted(self._tail)]
        return [*(self._all if include_parents else self._own),
                *(record for record in fresh if record is not None and (include_parents or record.parent is None))]

    def _settle(self) -> None:
        while (trial := self._tail.get(self._settled)) is not None and trial.finished:
            del self._tail[self._settled]
            if trial.record is not None:
                self._all.append(trial.record)
                if trial.record.parent is None:
                    self._own.append(trial.record)
            self._settled += 1
