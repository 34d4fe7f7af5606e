"""Tuning jobs as the dashboard shows them: the description `tuning describe` prints and the
trials table, read from the tuning job's journal (kept until the journal changes)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from container_runtime.local.dashboard.records import UNREADABLE, FileCache, importance, read_json, valid_name
from container_runtime.local.errors import LocalModeError

JOURNAL = "journal.log"


def tuning_dir(tuning_root: Path, name: str) -> Path:
    if not valid_name(name) or not (tuning_root / name).is_dir():
        raise LocalModeError(f"no tuning job named {name!r} in {tuning_root}")
    return tuning_root / name


def list_tuning_jobs(tuning_root: Path, cache: FileCache) -> list[dict[str, Any]]:
    if not tuning_root.is_dir():
        return []
    rows = []
    for entry in sorted(tuning_root.iterdir(), reverse=True):
        if entry.is_dir() and valid_name(entry.name):
            detail = tuning_summary(entry, cache)
            described = detail.get("description") or {}
            rows.append({
                "name": entry.name,
                "status": described.get("HyperParameterTuningJobStatus", UNREADABLE),
                "counters": described.get("TrainingJobStatusCounters"),
                "best": (described.get("BestTrainingJob") or {}).get("TrainingJobName"),
                "completion": described.get("CompletionReason"),
                "error": detail.get("error"),
            })
    return rows


def tuning_summary(directory: Path, cache: FileCache) -> dict[str, Any]:
    """From the journal when there is one (live), else from the describe.json written at the end."""
    journal = directory / JOURNAL
    if journal.is_file():
        result: dict[str, Any] = cache.get(journal, "study", lambda path: _from_study(directory))
        return result
    record = cache.get(directory / "describe.json", "json", read_json)
    if isinstance(record, str):
        return {"name": directory.name, "error": f"no {JOURNAL}, and {record}", "trials": []}
    return {"name": directory.name, "description": record, "trials": [], "error": None,
            "note": "this tuning job's study is in another storage: its trials are not listed here"}


def _from_study(directory: Path) -> dict[str, Any]:
    from container_runtime.local.tuning import records as r
    from container_runtime.local.tuning.describe import describe_study
    from container_runtime.local.tuning.study import load_study

    try:
        study = load_study(directory.name, None, directory)
        description = describe_study(study)
        trials = r.trial_records(study)
    except Exception as error:  # noqa: BLE001 - a broken journal is shown, never a server error
        return {"name": directory.name, "error": f"{JOURNAL}: cannot be read ({error})", "trials": []}
    config = (study.user_attrs.get(r.CONFIG) or {}) if isinstance(study.user_attrs, dict) else {}
    best = (description.get("BestTrainingJob") or {}).get("TrainingJobName")
    rows: list[dict[str, Any]] = [
        {
            "number": trial.number,
            "job": trial.job_name,
            "status": trial.job_status,
            "objective_status": trial.objective_status,
            "objective": trial.final_value,
            "params": dict(trial.tuned),
            "start": trial.start_time,
            "elapsed": trial.elapsed_seconds,
            "stop_reason": trial.stop_reason,
            "failure": trial.failure_reason,
            "has_job": (directory / "jobs" / trial.job_name).is_dir(),
            "best": trial.job_name == best,
        }
        for trial in trials
    ]
    names = sorted({name for row in rows for name in row["params"]})
    return {
        "name": directory.name,
        "description": description,
        "objective_type": str(config.get("ObjectiveType", "Maximize")),
        "objective_metric": config.get("ObjectiveMetricName"),
        "parameters": names,
        "trials": rows,
        "importance": importance(rows, names),
        "error": None,
    }
