"""Deploying a finished job by name, and predicting from a file: the glue between a job's record,
the endpoints and the predictor that the command line uses."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from container_runtime.local.describe import read_description
from container_runtime.local.endpoints import EndpointRecord, deploy, find_endpoint
from container_runtime.local.errors import LocalModeError
from container_runtime.local.presets import GENERIC, PRESETS, FrameworkPreset, preset_named
from container_runtime.local.settings import s3_endpoint_url
from container_runtime.local.status import JobStatus

CONTENT_TYPES = {
    ".npy": "application/x-npy",
    ".json": "application/json",
    ".csv": "text/csv",
    ".jsonl": "application/jsonlines",
}


def deploy_from_arguments(
    *,
    job: str | None,
    model_data: str | None,
    entry_point: str | None,
    source_dir: Path | None,
    framework: str | None,
    port: int | None,
    name: str | None,
    workers: int,
    jobs_dir: Path,
    endpoints_dir: Path,
    console: TextIO | None,
    backend: str = "local",
    image: str | None = None,
) -> EndpointRecord:
    """A job's model, code and framework come from its record; arguments given override them."""
    source = model_source(job=job, model_data=model_data, entry_point=entry_point, source_dir=source_dir,
                          framework=framework, jobs_dir=jobs_dir)
    return deploy(
        source.model_data,
        endpoints_dir=endpoints_dir,
        framework=source.preset,
        entry_point=source.entry_point,
        source_dir=source.source_dir,
        port=port,
        name=name,
        workers=workers,
        s3_endpoint_url=s3_endpoint_url(),
        console=console,
        backend=backend,
        image=image,
    )


@dataclass(frozen=True)
class ModelSource:
    """What serves a model: the model.tar.gz, the inference code and the framework's defaults."""

    model_data: str
    entry_point: str | None
    source_dir: Path | None
    preset: FrameworkPreset


def model_source(
    *,
    job: str | None,
    model_data: str | None,
    entry_point: str | None,
    source_dir: Path | None,
    framework: str | None,
    jobs_dir: Path,
    command: str = "deploy",
) -> ModelSource:
    """A finished job's model, code and framework (from its record), or the model given; arguments given win."""
    if (job is None) == (model_data is None):
        raise LocalModeError(f"{command}: name a job, or give --model-data (not both)")
    preset = preset_named(framework) if framework else GENERIC
    if job is not None:
        record = read_description(jobs_dir / job / "describe.json")
        status = record.get("TrainingJobStatus")
        if status != JobStatus.COMPLETED:
            raise LocalModeError(f"job {job} has status {status}: there is no model to {command}")
        model_data = (record.get("ModelArtifacts") or {}).get("S3ModelArtifacts")
        if not model_data:
            raise LocalModeError(f"job {job} left no model.tar.gz")
        sent = record.get("HyperParameters") or {}
        entry_point = entry_point or _decoded(sent.get("sagemaker_program"))
        if source_dir is None and _decoded(sent.get("sagemaker_submit_directory")):
            source_dir = Path(str(_decoded(sent.get("sagemaker_submit_directory"))))
        if framework is None:
            preset = PRESETS.get((record.get("AlgorithmSpecification") or {}).get("TrainingImage", ""), GENERIC)
    assert model_data is not None
    return ModelSource(model_data, entry_point, source_dir, preset)


def predict_file(
    endpoint: str, data: Path, *, content_type: str | None, accept: str | None, endpoints_dir: Path
) -> str:
    """Send a file's bytes as they are (its type from the suffix) and render the answer as JSON."""
    from container_runtime.local.predictor import Predictor

    if not data.is_file():
        raise LocalModeError(f"--data {str(data)!r}: no such file")
    content_type = content_type or CONTENT_TYPES.get(data.suffix.lower())
    if content_type is None:
        raise LocalModeError(f"--data {str(data)!r}: give its type with --content-type (.npy .json .csv .jsonl known)")
    if "://" not in endpoint:
        find_endpoint(endpoint, endpoints_dir)  # a one-line error for an unknown name
    predictor = Predictor(endpoint, content_type=content_type, accept=accept, endpoints_dir=endpoints_dir)
    answer = predictor.predict(data.read_bytes())
    return json.dumps(_plain(answer))


def _decoded(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _plain(value: Any) -> Any:
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return tolist()
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    return value
