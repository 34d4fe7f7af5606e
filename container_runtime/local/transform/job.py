"""The flow of a transform job: check, start the model's endpoint, transform every file, stop it.

Everything the user gave is checked before the endpoint starts. The endpoint is local mode's
own (`container_runtime.local.endpoints.deploy`, on the process or Docker backend) and is
stopped at the end whatever happened: success, a refused record, a failure or Ctrl-C.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from container_runtime.local.deployment import CONTENT_TYPES
from container_runtime.local.endpoints import LOG_FILE, deploy, free_port, stop_endpoint
from container_runtime.local.errors import LocalModeError, LocalModeFailure
from container_runtime.local.names import unique_name, validate_name
from container_runtime.local.presets import GENERIC, FrameworkPreset
from container_runtime.local.settings import default_endpoints_dir, home
from container_runtime.local.transform.inputs import InputFile, check_input, discover
from container_runtime.local.transform.options import MIB, Plan, TransformOptions, plan
from container_runtime.local.transform.output import OutputWriter, check_output
from container_runtime.local.transform.progress import TransformProgress
from container_runtime.local.transform.records import Batch, FileEnd, batches, split_records
from container_runtime.local.transform.sender import (
    INVOCATION_TIMEOUT_S,
    BatchFailed,
    BatchRefused,
    Invoker,
    RecordRefused,
    execution_parameters,
    send_in_order,
)


@dataclass(frozen=True)
class TransformJobSpec:
    """One transform job: the model (as `deploy` takes it), the data and where answers go."""

    model_data: str
    data: str
    output_path: str | None = None
    options: TransformOptions = field(default_factory=TransformOptions)
    framework: FrameworkPreset = GENERIC
    entry_point: str | None = None
    source_dir: Path | None = None
    environment: Mapping[str, str] = field(default_factory=dict)
    job_name: str | None = None
    endpoints_dir: Path | None = None
    #: Where a job without `output_path` writes, under its name (default `<home>/transforms`).
    transforms_dir: Path | None = None
    backend: str = "local"
    image: str | None = None
    s3_endpoint_url: str | None = None
    #: serve's worker processes; None: one per concurrent transform the user asked for, else 1.
    workers: int | None = None


@dataclass(frozen=True)
class TransformJobResult:
    name: str
    output_path: str
    #: Each input file's output (paths or s3:// URIs), in input order.
    outputs: tuple[str, ...]
    records: int
    seconds: float


def default_output_path(name: str, transforms_dir: Path | None = None) -> str:
    """Where a job without `output_path` writes: `<home>/transforms/<job name>`."""
    return str((transforms_dir or home() / "transforms") / name)


def run_transform_job(spec: TransformJobSpec, console: TextIO | None = sys.stdout) -> TransformJobResult:
    """Run the job to the end; LocalModeError (exit 2) for bad input, LocalModeFailure (exit 1) when it failed."""
    name = validate_name(spec.job_name, "job name") if spec.job_name else unique_name("transform")
    output_path = spec.output_path or default_output_path(name, spec.transforms_dir)
    check_input(spec.data)
    check_output(output_path, s3_endpoint_url=spec.s3_endpoint_url)
    endpoints_dir = spec.endpoints_dir or default_endpoints_dir()
    if (endpoints_dir / name).exists():  # the job's endpoint dir (its serve.log) outlives it
        raise LocalModeError(f"transform job {name} already exists ({endpoints_dir / name}): choose another job name")
    record = deploy(
        spec.model_data, endpoints_dir=endpoints_dir, framework=spec.framework, entry_point=spec.entry_point,
        source_dir=spec.source_dir, port=free_port(), name=name, workers=_workers(spec),
        environment=_serve_environment(spec), s3_endpoint_url=spec.s3_endpoint_url, console=None,
        backend=spec.backend, image=spec.image,
    )
    try:
        _say(console, f"transform job {name}: serving {spec.model_data} at {record.url}")
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as staging:
            files = discover(spec.data, Path(staging) / "input", s3_endpoint_url=spec.s3_endpoint_url)
            how = plan(spec.options, execution_parameters(record.port))
            content_type = spec.options.content_type or _content_type(files)
            invoker = Invoker(record.port, content_type=content_type, accept=spec.options.accept,
                              timeout=spec.options.invocation_timeout or INVOCATION_TIMEOUT_S)
            writer = OutputWriter(output_path, Path(staging) / "output", assemble_with=spec.options.assemble_with,
                                  s3_endpoint_url=spec.s3_endpoint_url)
            progress = TransformProgress(console, len(files))
            _say(console, f"transform job {name}: {len(files)} files, {how.strategy}, max_payload "
                          f"{how.max_payload_bytes // MIB} MB, {how.concurrency} concurrent, to {output_path}")
            log = Path(record.directory) / LOG_FILE
            outputs = _transform(name, files, spec.options, how, invoker, writer, progress, log)
    finally:
        stop_endpoint(name, endpoints_dir)
    _say(console, f"transform job {name} completed: {progress.summary()}")
    return TransformJobResult(name, output_path, tuple(outputs), progress.records, progress.seconds())


def _transform(name: str, files: list[InputFile], options: TransformOptions, how: Plan, invoker: Invoker,
               writer: OutputWriter, progress: TransformProgress, log: Path) -> list[str]:
    """Send every file's batches and write the answers in order; a refused record ends the job."""
    outputs: list[str] = []
    current = -1
    records = 0
    try:
        for item, answer in send_in_order(_items(files, options, how), invoker.invoke, how.concurrency):
            if item.file_index != current:
                writer.open(files[item.file_index].name)
                current, records = item.file_index, 0
            if isinstance(item, FileEnd):
                outputs.append(writer.commit())
                progress.file_done(outputs[-1], records)
                current = -1
                continue
            writer.write(answer)
            records += len(item.records)
            progress.add(len(item.records))
    except BatchRefused as refused:
        writer.abandon()
        where = f"{files[refused.batch.file_index]} {_refused_record(refused, invoker)}"
        kept = f"; {len(outputs)} completed files kept in {writer.output_path}" if outputs else ""
        raise LocalModeFailure(f"transform job {name} failed: {where}{kept}") from None
    except BatchFailed as failed:  # serve died, hung or closed the connection: its log says why
        writer.abandon()
        where = f"{files[failed.batch.file_index]} {failed.batch.describe()}"
        kept = f"; {len(outputs)} completed files kept in {writer.output_path}" if outputs else ""
        raise LocalModeFailure(f"transform job {name} failed: {where}: {failed.reason} (see {log}){kept}") from None
    except BaseException:
        writer.abandon()
        raise
    return outputs


def _items(files: list[InputFile], options: TransformOptions, how: Plan) -> Iterator[Batch | FileEnd]:
    for index, item in enumerate(files):
        yield from batches(index, str(item), split_records(item.path, options.split_type, gzipped=options.gzipped),
                           split_type=options.split_type, strategy=how.strategy,
                           max_payload_bytes=how.max_payload_bytes)
        yield FileEnd(index)


def _refused_record(refused: BatchRefused, invoker: Invoker) -> str:
    """`record 7: endpoint answered 400 ...`: a refused batch of several records is resent one
    record at a time to name the one the model refuses (all of them when each alone passes)."""
    batch = refused.batch
    if len(batch.records) > 1:
        for number, record in zip(batch.numbers, batch.records, strict=True):
            try:
                invoker.invoke(Batch(batch.file_index, (number,), (record,), batch.split_type).body)
            except RecordRefused as alone:
                return f"record {number}: endpoint answered {alone.reason}"
    return f"{batch.describe()}: endpoint answered {refused.refusal.reason}"


def _workers(spec: TransformJobSpec) -> int:
    if spec.workers is not None:
        if spec.workers < 1:
            raise LocalModeError(f"model_server_workers {spec.workers}: must be at least 1")
        return spec.workers
    return spec.options.max_concurrent_transforms or 1


def _serve_environment(spec: TransformJobSpec) -> dict[str, str]:
    """As SageMaker's transform containers see: SAGEMAKER_BATCH, and a payload limit that fits the job's."""
    env = {"SAGEMAKER_BATCH": "true"}
    if spec.options.max_payload is not None:
        env["SAGEMAKER_MAX_PAYLOAD_IN_MB"] = str(spec.options.max_payload)
    env.update(spec.environment)
    return env


def _content_type(files: list[InputFile]) -> str | None:
    """The files' type from their suffix (before a .gz), when they share a known one; else serve's default applies."""
    types = {CONTENT_TYPES.get(Path(item.name.removesuffix(".gz")).suffix.lower()) for item in files}
    return types.pop() if len(types) == 1 else None


def _say(console: TextIO | None, text: str) -> None:
    if console is not None:
        console.write(text + "\n")
        console.flush()
