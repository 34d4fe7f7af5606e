"""Running one local training job from start to record.

Everything that can be checked is checked before anything is created: the entry point in the
source dir, the channels, the metric regexes, the host count. Then the job dir is made (never
reused), the channels are staged into every host, `train` runs on each host with its output
relayed, and the master's artifacts and the record go to the output location, the record last.
"""

from __future__ import annotations

import os
import queue
import signal
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple, TextIO

from container_runtime.local.backends import backend_named, check_backend
from container_runtime.local.backends.base import HostLaunch, HostProcess
from container_runtime.local.backends.commands import clean_environment
from container_runtime.local.channels import ChannelSource, stage_channels
from container_runtime.local.config_files import encoded_hyperparameters, write_host_config
from container_runtime.local.describe import iso_time, write_description
from container_runtime.local.errors import LocalModeError, LocalModeFailure
from container_runtime.local.host_logs import HostLogRelay
from container_runtime.local.layout import JobLayout
from container_runtime.local.metrics import METRIC_LOG, MetricCollector, MetricDefinition, MetricLog
from container_runtime.local.names import unique_name, validate_name
from container_runtime.local.output import OutputLocation
from container_runtime.local.presets import FrameworkPreset
from container_runtime.local.progress import human_seconds
from container_runtime.local.status import JobStatus

STATUS_INTERVAL = 30.0
STOP_GRACE_SECONDS = 30.0
#: `train`'s exit codes when a stop signal ended it: 128 + SIGTERM, 128 + SIGINT.
STOP_EXIT_CODES = frozenset({128 + signal.SIGTERM, 128 + signal.SIGINT})
#: SageMaker keeps this much of a job's output/failure as its FailureReason.
FAILURE_REASON_CHARACTERS = 1024


class TrainingJobSpec(NamedTuple):
    entry_point: str
    source_dir: Path | None
    hyperparameters: Mapping[str, Any]
    channels: tuple[ChannelSource, ...]
    instance_count: int
    jobs_dir: Path
    framework: FrameworkPreset
    output_path: str | None = None
    job_name: str | None = None
    base_job_name: str | None = None
    metric_definitions: tuple[MetricDefinition, ...] = ()
    environment: Mapping[str, str] = {}
    s3_endpoint_url: str | None = None
    #: Written to hyperparameters.json as they are, not JSON-encoded (`_tuning_objective_metric`).
    raw_hyperparameters: Mapping[str, str] = {}
    #: Where the hosts run, a name of `backends.CHOICES`: "local" (processes or namespace hosts),
    #: "process", "netns" or "docker" (containers of `image`).
    backend: str = "local"
    image: str | None = None
    #: The backend's own options (`backends.OPTIONS`): a Slurm partition, time limit, GPUs per node.
    backend_options: Mapping[str, object] = {}


class JobControl:
    """How a caller (the tuner) watches and steers a job that runs in another thread."""

    def __init__(self, on_line: Callable[[str, str, float], None] | None = None) -> None:
        self.on_line = on_line
        self.stop_requested = threading.Event()
        self.stop_reason = ""
        #: The running job's event queue, woken by `stop` (set while the job waits for its hosts).
        self.wakeup: queue.SimpleQueue[object] | None = None

    def stop(self, reason: str) -> None:
        self.stop_reason = reason
        self.stop_requested.set()
        if self.wakeup is not None:
            self.wakeup.put(_STOP)


class TrainingJobResult(NamedTuple):
    name: str
    status: JobStatus
    description: dict[str, Any]
    job_dir: Path
    metrics: MetricCollector

    @property
    def model_data(self) -> str | None:
        artifacts = self.description.get("ModelArtifacts") or {}
        return artifacts.get("S3ModelArtifacts")


def check_spec(spec: TrainingJobSpec) -> TrainingJobSpec:
    """Resolve the source dir and entry point; every problem is a one-line error."""
    if spec.instance_count < 1:
        raise LocalModeError(f"instance count {spec.instance_count}: must be at least 1")
    check_backend(spec.backend, spec.image)
    source_dir = spec.source_dir
    if source_dir is None:
        entry = Path(spec.entry_point).expanduser().resolve()
        if not entry.is_file():
            raise LocalModeError(f"entry point {spec.entry_point!r}: no such file")
        source_dir, entry_point = entry.parent, entry.name
    else:
        source_dir = source_dir.expanduser().resolve()
        if not source_dir.is_dir():
            raise LocalModeError(f"source dir {str(source_dir)!r}: no such directory")
        entry_point = spec.entry_point
        candidate = (source_dir / entry_point).resolve()
        if not candidate.is_relative_to(source_dir) or not candidate.exists():
            raise LocalModeError(f"entry point {entry_point!r} is not in the source dir {str(source_dir)!r}")
    if spec.job_name is not None:
        validate_name(spec.job_name)
    for channel in spec.channels:
        if channel.is_s3:
            from container_runtime.local.s3 import check_readable_prefix

            try:
                check_readable_prefix(channel.location, endpoint_url=spec.s3_endpoint_url)
            except LocalModeError as error:
                raise LocalModeError(f"channel {channel.name!r}: {error}") from None
    return spec._replace(source_dir=source_dir, entry_point=entry_point)


def run_training_job(
    spec: TrainingJobSpec, console: TextIO | None = sys.stdout, control: JobControl | None = None
) -> TrainingJobResult:
    spec = check_spec(spec)
    assert spec.source_dir is not None
    name = spec.job_name or unique_name(spec.base_job_name or Path(spec.entry_point).stem)
    hosts = host_names(spec.instance_count)
    output = OutputLocation.for_job(spec.output_path, spec.jobs_dir, name, spec.s3_endpoint_url)
    backend = backend_named(spec.backend, image=spec.image, host_count=len(hosts), options=spec.backend_options)
    backend.check(len(hosts), spec.jobs_dir)
    layout = JobLayout.create(spec.jobs_dir / name, hosts)
    hyperparameters = _job_hyperparameters(spec, name)
    record = _initial_record(spec, name, hyperparameters, layout, output)
    write_description(layout.describe_file, record)
    collector = MetricCollector(spec.metric_definitions)
    metric_log = MetricLog(layout.root / METRIC_LOG)

    def collect(host: str, line: str, now: float) -> None:
        matches = collector.feed(line, now)
        if matches:
            metric_log.write(matches, now)
        if control is not None and control.on_line is not None:
            control.on_line(host, line, now)

    relay = HostLogRelay(console, collect)
    started = time.time()
    exit_codes: dict[str, int] = {}
    stopped = False
    try:
        stage_channels(spec.channels, [layout.host_base(host) for host in hosts],
                       s3_endpoint_url=spec.s3_endpoint_url, staging=layout.root / "staging")
        for host in hosts:
            write_host_config(layout.host_base(host), host=None if backend.engine_identity else host, hosts=hosts,
                              hyperparameters=hyperparameters,
                              channels=[channel.name for channel in spec.channels], raw=spec.raw_hyperparameters)
        with backend.hosts(layout, hosts) as host_set:
            relay.say(f"Training job {name}: {len(hosts)} host(s) ({', '.join(hosts)}) on {host_set.description}; "
                      f"job dir {layout.root}")
            env = clean_environment({**spec.framework.training_environment, **spec.environment})
            if spec.s3_endpoint_url:
                env["S3_ENDPOINT_URL"] = spec.s3_endpoint_url
            launches = [HostLaunch(host, layout.host_base(host), env, spec.source_dir, tuple(spec.environment))
                        for host in hosts]
            handles = host_set.start_all(launches)
            record.update(host_set.record_fields)
            write_description(layout.describe_file, record)
            for host in hosts:
                stream = handles[host].stdout
                assert stream is not None
                relay.follow(host, stream, layout.log_file(host))
            exit_codes, stopped = _wait(handles, relay, started, control)
            relay.wait(10)
    except LocalModeError as error:  # the job was started: a failure now, not bad input
        record.update(_final_fields(record, JobStatus.FAILED, str(error), started, {}, collector))
        write_description(layout.describe_file, record)
        raise LocalModeFailure(str(error)) from None
    status, reason = _verdict(exit_codes, stopped, layout, hosts)
    if stopped and control is not None and control.stop_reason:
        reason = control.stop_reason
    record.update(_final_fields(record, status, reason, started, exit_codes, collector))
    if status != JobStatus.STOPPED:
        record.update(output.deliver(layout, hosts[0]))
    output.record(layout, record)
    relay.say(f"Training job {name} {status.lower()} after {human_seconds(time.time() - started)}"
              + (f": {reason}" if reason else ""))
    return TrainingJobResult(name, status, record, layout.root, collector)


def _job_hyperparameters(spec: TrainingJobSpec, name: str) -> dict[str, Any]:
    """The user's hyperparameters plus the ones the SDK adds (program, code, job name)."""
    assert spec.source_dir is not None
    return {
        **spec.hyperparameters,
        "sagemaker_program": spec.entry_point,
        "sagemaker_submit_directory": str(spec.source_dir),
        "sagemaker_job_name": name,
        "sagemaker_region": "local",
        "sagemaker_container_log_level": 20,
    }


def _initial_record(
    spec: TrainingJobSpec, name: str, hyperparameters: Mapping[str, Any], layout: JobLayout, output: OutputLocation
) -> dict[str, Any]:
    return {
        "TrainingJobName": name,
        "TrainingJobStatus": JobStatus.IN_PROGRESS.value,
        "FailureReason": None,
        "HyperParameters": {**encoded_hyperparameters(hyperparameters), **spec.raw_hyperparameters},
        "AlgorithmSpecification": {
            "TrainingImage": spec.framework.name,
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": d.name, "Regex": d.regex} for d in spec.metric_definitions],
        },
        "InputDataConfig": [
            {"ChannelName": channel.name, "DataUri": channel.location} for channel in spec.channels
        ],
        "ResourceConfig": {"InstanceCount": spec.instance_count, "InstanceType": "local"},
        "Backend": spec.backend,
        "OutputDataConfig": {"S3OutputPath": output.base_uri},
        "CreationTime": iso_time(time.time()),
        "TrainingStartTime": iso_time(time.time()),
        "TrainingEndTime": None,
        "TrainingTimeInSeconds": None,
        "ModelArtifacts": None,
        "OutputArtifacts": None,
        "FinalMetricDataList": [],
        "JobDir": str(layout.root),
        "Hosts": {},
        "Controller": _controller(),
    }


def _controller() -> dict[str, Any]:
    """The process that runs the job, so another one (the dashboard) can ask it to stop: SIGTERM
    stops the job like Ctrl-C where the job runs in the main thread (a tuner's trials do not)."""
    import psutil

    return {"Pid": os.getpid(), "CreateTime": psutil.Process().create_time(),
            "StopsOnSigterm": threading.current_thread() is threading.main_thread()}


_STOP = object()


def _wait(
    handles: Mapping[str, HostProcess], relay: HostLogRelay, started: float, control: JobControl | None
) -> tuple[dict[str, int], bool]:
    """Wait for every host; Ctrl-C, SIGTERM or the caller's stop request stops them all (SIGTERM, then
    SIGKILL after the grace, under one deadline). Nothing polls: one thread per host waits for its
    exit and the loop blocks on their events, waking only for the status line and the deadline.
    Signal handlers are only ours in the main thread."""
    events: queue.SimpleQueue[object] = queue.SimpleQueue()  # put() is safe from a signal handler
    for host, handle in handles.items():
        threading.Thread(target=lambda host=host, handle=handle: events.put((host, handle.wait(None))),
                         name=f"wait-{host}", daemon=True).start()
    if control is not None:
        control.wakeup = events
        if control.stop_requested.is_set():
            events.put(_STOP)

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {}
    if in_main_thread:
        previous = {
            signum: signal.signal(signum, lambda *_: events.put(_STOP)) for signum in (signal.SIGINT, signal.SIGTERM)
        }
    exit_codes: dict[str, int] = {}
    stop_deadline: float | None = None
    next_status = time.monotonic() + STATUS_INTERVAL
    try:
        while len(exit_codes) < len(handles):
            now = time.monotonic()
            wake_at = next_status if stop_deadline is None else min(next_status, stop_deadline)
            try:
                event = events.get(timeout=max(wake_at - now, 0.0))
            except queue.Empty:
                event = None
            if event is _STOP and stop_deadline is None:
                why = control.stop_reason if control is not None and control.stop_reason else "stop requested"
                relay.say(f"Stopping the job ({why}): SIGTERM to every host, SIGKILL after {STOP_GRACE_SECONDS:.0f} s")
                stop_deadline = time.monotonic() + STOP_GRACE_SECONDS
                for handle in handles.values():
                    handle.signal(signal.SIGTERM)
            elif isinstance(event, tuple):
                host, code = event
                exit_codes[host] = code
            now = time.monotonic()
            if stop_deadline is not None and now >= stop_deadline:
                for host, handle in handles.items():
                    if host not in exit_codes:
                        handle.signal(signal.SIGKILL)
                stop_deadline = float("inf")
            if now >= next_status:
                next_status = now + STATUS_INTERVAL
                running = [host for host in handles if host not in exit_codes]
                relay.say(f"... {human_seconds(time.time() - started)} elapsed; running on {', '.join(running)}")
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if control is not None:
            control.wakeup = None
    return exit_codes, stop_deadline is not None


def _verdict(
    exit_codes: Mapping[str, int], stopped: bool, layout: JobLayout, hosts: Sequence[str]
) -> tuple[JobStatus, str | None]:
    if stopped:
        return JobStatus.STOPPED, "stopped by the user"
    failures = [host for host in hosts if exit_codes.get(host) != 0]
    if not failures:
        return JobStatus.COMPLETED, None
    stops = {exit_codes.get(host) for host in failures}
    if stops <= STOP_EXIT_CODES:
        # Every host that did not finish was stopped by a signal from outside the job (an engine's
        # `scancel`, a `kill`): the job was stopped, not failed.
        signals = " or ".join(sorted(signal.Signals(code - 128).name for code in stops if code is not None))
        return JobStatus.STOPPED, f"stopped from outside the job ({signals} to {', '.join(failures)})"
    # The cause, not its echo: a host that failed on its own comes before one its engine then stopped
    # (128 + N: a signal, such as Slurm's --kill-on-bad-exit ending the others).
    host = min(failures, key=lambda name: (exit_codes.get(name, 1) >= 128, hosts.index(name)))
    reason = failure_reason(layout.host_base(host))
    return JobStatus.FAILED, f"{host}: {reason or f'train exited with code {exit_codes.get(host)}'}"


def failure_reason(host_base: Path) -> str | None:
    """The host's contractual `output/failure` on one line, at most FAILURE_REASON_CHARACTERS long."""
    try:
        text = (host_base / "output" / "failure").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    reason = " ".join(text.split())
    if len(reason) > FAILURE_REASON_CHARACTERS and '\nCommand "' in text:
        # The contract's `ExitCode / ErrorMessage / Command` text: the command line (mpirun's is long)
        # matters least, and the error message's last lines most.
        reason = " ".join(text[: text.rindex('\nCommand "')].split())
    if len(reason) > FAILURE_REASON_CHARACTERS:
        # The kind of failure opens the text and the error itself (a traceback's last line, the failing
        # rank's) closes it: keep both ends.
        head = FAILURE_REASON_CHARACTERS // 3
        reason = reason[:head] + " ... " + reason[-(FAILURE_REASON_CHARACTERS - head - 5):]
    return reason or None


def host_names(count: int) -> list[str]:
    return [f"algo-{index}" for index in range(1, count + 1)]


def _final_fields(
    record: Mapping[str, Any], status: JobStatus, reason: str | None, started: float, exit_codes: Mapping[str, int],
    collector: MetricCollector,
) -> dict[str, Any]:
    ended = time.time()
    return {
        "TrainingJobStatus": status.value,
        "FailureReason": reason,
        "TrainingEndTime": iso_time(ended),
        "TrainingTimeInSeconds": round(ended - started, 3),
        "FinalMetricDataList": [
            {"MetricName": name, "Value": point.value, "Timestamp": iso_time(point.timestamp)}
            for name, point in collector.final_values().items()
        ],
        "Hosts": {
            host: {"ExitCode": code, "Log": str(Path(record["JobDir"]) / "logs" / f"{host}.log")}
            for host, code in exit_codes.items()
        },
    }
