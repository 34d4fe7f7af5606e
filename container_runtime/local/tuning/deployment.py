"""Deploying a tuning job's best training job, as the SDK's `tuner.deploy()` does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from container_runtime.local.errors import LocalModeError


def deploy_best(result: Any, estimator: Any, *, port: int | None, name: str | None, workers: int) -> Any:
    from container_runtime.local.deployment import deploy_from_arguments
    from container_runtime.local.predictor import Predictor

    best = result.description.get("BestTrainingJob")
    if not best:
        raise LocalModeError(f"tuning job {result.name} has no best training job to deploy")
    job_dir = Path(best["JobDir"])
    record = deploy_from_arguments(
        job=job_dir.name, model_data=None, entry_point=None, source_dir=None, framework=estimator.preset.name,
        port=port, name=name, workers=workers, jobs_dir=job_dir.parent, endpoints_dir=Path(estimator.endpoints_dir),
        console=estimator.console,
    )
    endpoints_dir = Path(estimator.endpoints_dir)
    return Predictor(record.url, content_type=estimator.preset.content_type, endpoints_dir=endpoints_dir,
                     name=record.name, owned=True)
