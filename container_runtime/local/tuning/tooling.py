"""`container-runtime tuning describe|analytics|deploy`: a tuning job looked at from its storage,
by any process, while it runs or after it ended."""

from __future__ import annotations

import json
from pathlib import Path

from container_runtime.local.errors import LocalModeError
from container_runtime.local.tuning import records as r
from container_runtime.local.tuning.analytics import analytics_dataframe, export_csv
from container_runtime.local.tuning.deployment import deploy_best
from container_runtime.local.tuning.describe import describe_study
from container_runtime.local.tuning.study import load_study


def tuning_action(action: str, name: str, *, storage: str | None, tuning_root: Path, endpoints_dir: Path,
                  csv: Path | None, port: int | None, name_for_endpoint: str | None = None) -> str:
    study = load_study(name, storage, tuning_root / name)
    if action == "describe":
        return json.dumps(describe_study(study), indent=2)
    if action == "analytics":
        records = r.trial_records(study)
        if csv is not None:
            export_csv(records, csv)
        frame = analytics_dataframe(records)
        return str(frame.to_string(index=False)) if len(frame) else "no training jobs yet"
    if action == "deploy":
        description = describe_study(study)
        record = deploy_best(description, endpoints_dir=endpoints_dir, port=port, name=name_for_endpoint)
        return (f"Endpoint {record.name} serves {description['BestTrainingJob']['TrainingJobName']} at {record.url}; "
                f"stop it with: container-runtime stop {record.name}")
    raise LocalModeError(f"tuning action {action!r}: choose describe, analytics or deploy")
