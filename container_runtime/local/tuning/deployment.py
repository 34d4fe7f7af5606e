"""Deploying a tuning job's best training job: `container-runtime tuning deploy`, and the SDK's
`tuner.deploy()`, which wraps the endpoint in a Predictor."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from container_runtime.local.deployment import deploy_from_arguments
from container_runtime.local.endpoints import EndpointRecord
from container_runtime.local.errors import LocalModeError
from container_runtime.local.predictor import Predictor
from container_runtime.local.tuning.reports import TuningJobResult


def deploy_best(description: Mapping[str, Any], *, endpoints_dir: Path, framework: str | None = None,
                port: int | None = None, name: str | None = None, workers: int = 1,
                console: TextIO | None = None) -> EndpointRecord:
    """Serve the model of the best training job of the tuning job `description` describes."""
    best = description.get("BestTrainingJob")
    if not best:
        raise LocalModeError(f"tuning job {description['HyperParameterTuningJobName']} has no best training job "
                             "to deploy")
    job_dir = Path(best["JobDir"])
    return deploy_from_arguments(
        job=job_dir.name, model_data=None, entry_point=None, source_dir=None, framework=framework, port=port,
        name=name, workers=workers, jobs_dir=job_dir.parent, endpoints_dir=endpoints_dir, console=console,
    )


def best_predictor(result: TuningJobResult, estimator: Any, *, port: int | None, name: str | None,
                   workers: int) -> Predictor:
    """`deploy_best` with the estimator's framework and dirs; the Predictor stops the endpoint when closed."""
    endpoints_dir = Path(estimator.endpoints_dir)
    record = deploy_best(result.description, endpoints_dir=endpoints_dir, framework=estimator.preset.name, port=port,
                         name=name, workers=workers, console=estimator.console)
    return Predictor(record.url, content_type=estimator.preset.content_type, endpoints_dir=endpoints_dir,
                     name=record.name, owned=True)
