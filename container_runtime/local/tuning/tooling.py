"""`container-runtime tuning describe|analytics|deploy`: a tuning job looked at from its storage,
by any process, while it runs or after it ended."""

from __future__ import annotations

import json
from pathlib import Path

from container_runtime.local.errors import LocalModeError


def tuning_action(action: str, name: str, *, storage: str | None, tuning_root: Path, endpoints_dir: Path,
                  csv: Path | None, port: int | None, name_for_endpoint: str | None = None) -> str:
    from container_runtime.local.tuning import records as r
    from container_runtime.local.tuning.describe import describe_study
    from container_runtime.local.tuning.tuner import _load_study

    study = _load_study(name, storage, tuning_root / name)
    if action == "describe":
        return json.dumps(describe_study(study), indent=2)
    if action == "analytics":
        from container_runtime.local.tuning.analytics import analytics_dataframe, export_csv

        records = r.trial_records(study)
        if csv is not None:
            export_csv(records, csv)
        frame = analytics_dataframe(records)
        return str(frame.to_string(index=False)) if len(frame) else "no training jobs yet"
    if action == "deploy":
        from container_runtime.local.deployment import deploy_from_arguments

        best = describe_study(study).get("BestTrainingJob")
        if not best:
            raise LocalModeError(f"tuning job {name} has no best training job to deploy")
        job_dir = Path(best["JobDir"])
        record = deploy_from_arguments(
            job=job_dir.name, model_data=None, entry_point=None, source_dir=None, framework=None, port=port,
            name=name_for_endpoint, workers=1, jobs_dir=job_dir.parent, endpoints_dir=endpoints_dir, console=None,
        )
        return (f"Endpoint {record.name} serves {best['TrainingJobName']} at {record.url}; "
                f"stop it with: container-runtime stop {record.name}")
    raise LocalModeError(f"tuning action {action!r}: choose describe, analytics or deploy")
