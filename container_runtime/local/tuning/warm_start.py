"""Warm start: a new tuning job's study begins with the finished jobs of up to 5 ended parents.

Copied trials carry the parent's name (`records.PARENT`), so they inform the sampler and early
stopping but are not this tuning job's jobs (neither its budget nor its records). A parent's
value outside our ranges is left out of the copied trial's parameters (Optuna keeps one search
space per name); the trial's objective series still informs early stopping, and its other
parameters the sampler.
"""

from __future__ import annotations

from typing import Any

from container_runtime.local.errors import LocalModeError
from container_runtime.local.status import JobStatus
from container_runtime.local.tuning import records as r
from container_runtime.local.tuning.config import TuningConfig
from container_runtime.local.tuning.ranges import distribution, sampled_value
from container_runtime.local.tuning.study import load_study


def warm_start(study: Any, config: TuningConfig) -> None:
    """Copy every parent's finished trials into `study` (the creating process, before it records its config)."""
    for parent in config.warm_start_parents:
        copy_parent(study, parent, config)


def copy_parent(study: Any, parent: str, config: TuningConfig) -> None:
    import optuna

    source = load_study(parent, config.storage, config.tuning_root / parent)
    if source.user_attrs.get(r.STATUS) not in (JobStatus.COMPLETED, JobStatus.STOPPED, JobStatus.FAILED):
        raise LocalModeError(f"warm start parent {parent} has not ended")
    parent_config = source.user_attrs.get(r.CONFIG) or {}
    metric_name = config.objective.metric_name
    if parent_config.get("ObjectiveMetricName") != metric_name:
        raise LocalModeError(f"warm start parent {parent} tuned {parent_config.get('ObjectiveMetricName')!r}, "
                             f"not {metric_name!r}")
    parent_names = {entry["Name"] for entry in parent_config.get("ParameterRanges", [])}
    if parent_names != set(config.ranges):
        raise LocalModeError(f"warm start parent {parent} tuned {sorted(parent_names)}, not {sorted(config.ranges)}")
    attrs_of = {trial.number: trial.user_attrs for trial in source.get_trials(deepcopy=False)}
    for record in r.trial_records(source):
        if record.final_value is None:
            continue
        params: dict[str, Any] = {}
        distributions: dict[str, Any] = {}
        for name, ours in config.ranges.items():
            value = sampled_value(ours, record.tuned[name])
            candidate = distribution(ours)
            if _contains(candidate, value):
                params[name] = value
                distributions[name] = candidate
        study.add_trial(optuna.trial.create_trial(
            params=params, distributions=distributions, value=record.final_value,
            user_attrs={**attrs_of[record.number], r.PARENT: parent},
            intermediate_values={step: value for step, (_, value) in enumerate(record.objective_series, 1)},
        ))


def _contains(candidate: Any, value: Any) -> bool:
    try:
        return bool(candidate._contains(candidate.to_internal_repr(value)))  # noqa: SLF001
    except (ValueError, TypeError):
        return False
