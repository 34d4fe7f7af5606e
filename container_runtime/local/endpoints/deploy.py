"""Deploying a local endpoint: the runtime's `serve` on a local port, detached so it outlives the deployer.

Every argument is checked before anything is created; then the model and code are staged into the
endpoint dir, the backend starts serve, and the record is written once /ping answers 200.
"""

from __future__ import annotations

import contextlib
import errno
import json
import logging
import os
import re
import shutil
import socket
import tarfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import unquote, urlparse

from container_runtime.local.backends import backend_named
from container_runtime.local.backends.base import EndpointLaunch, RunningEndpoint
from container_runtime.local.backends.commands import clean_environment
from container_runtime.local.describe import iso_time
from container_runtime.local.endpoints.records import (
    LOG_FILE,
    RECORD_FILE,
    EndpointRecord,
    endpoint_alive,
    read_record,
    write_record,
)
from container_runtime.local.errors import LocalModeError, LocalModeFailure
from container_runtime.local.names import unique_name, validate_name
from container_runtime.local.presets import FrameworkPreset

logger = logging.getLogger(__name__)

DEFAULT_PORT = 8080
MODEL_ARCHIVE = "model.tar.gz"
#: Seconds to wait for a serve that failed to start to exit after SIGTERM, before SIGKILL.
FAILED_START_GRACE_SECONDS = 5.0
#: Lines of serve.log quoted in a failed deploy's error.
LOG_TAIL_LINES = 3
#: serve's access-log line for a /ping (one per poll while waiting): noise in an error's log tail.
_PING_ACCESS = re.compile(r"\b(GET|HEAD) /ping \d{3}\b")

# --- deploying ---------------------------------------------------------------------------------


def deploy(
    model_data: str,
    *,
    endpoints_dir: Path,
    framework: FrameworkPreset,
    entry_point: str | None = None,
    source_dir: Path | None = None,
    port: int | None = None,
    name: str | None = None,
    workers: int = 1,
    environment: Mapping[str, str] | None = None,
    s3_endpoint_url: str | None = None,
    wait_seconds: float = 180.0,
    console: TextIO | None = None,
    backend: str = "local",
    image: str | None = None,
) -> EndpointRecord:
    """Serve `model_data` on a local port; returns once /ping is 200, or raises with serve's reason.

    Every argument is checked (model file, code, name, port, backend and image) before anything is
    created or started, so a bad one leaves no trace. `backend="docker"` serves in a container of
    `image` (container_runtime.local.docker_endpoints) instead of a local process.
    """
    endpoints_dir = Path(endpoints_dir)
    local_model = _local_model(model_data)
    if local_model is not None:
        model_data = str(local_model)
    name = validate_name(name, "endpoint name") if name else unique_name(_name_base(model_data))
    code_source, program = _code_source(entry_point, source_dir)
    if workers < 1:
        raise LocalModeError(f"workers {workers}: must be at least 1")
    port = DEFAULT_PORT if port is None else port
    if not 0 < port < 65536:
        raise LocalModeError(f"port {port}: choose one from 1 to 65535")
    directory = endpoints_dir / name
    _check_name_free(name, directory)
    check_port_free(port)
    serving = backend_named(backend, image=image)
    if not serving.serves_endpoints:
        raise LocalModeError(f"backend {backend!r} runs training jobs only: serve with 'process' or 'docker'")
    serving.check(1)

    try:
        endpoints_dir.mkdir(parents=True, exist_ok=True)
        directory.mkdir()
    except FileExistsError:
        raise LocalModeError(f"endpoint {name} already exists ({directory}): choose another name") from None
    except OSError as error:
        raise LocalModeError(f"cannot create the endpoint dir {directory}: {error.strerror or error}") from error

    running: RunningEndpoint | None = None
    try:
        _stage_model(model_data, local_model, directory, s3_endpoint_url)
        if code_source is not None:
            _copy_code(code_source, directory / "code")
        env = serve_environment(port, framework, program=program, workers=workers, environment=environment,
                                s3_endpoint_url=s3_endpoint_url)
        launch = EndpointLaunch(name, directory, port, env, has_code=code_source is not None,
                                user_variables=tuple(environment or {}))
        running = serving.start_endpoint(launch)
        _wait_ready(running, port, wait_seconds)
    except BaseException as error:
        tail = ""
        if running is not None:
            serving.endpoint_failed(running, FAILED_START_GRACE_SECONDS, directory / LOG_FILE)
            tail = _log_tail(directory)
        _abandon(directory)
        if isinstance(error, LocalModeError) and running is not None:
            raise LocalModeFailure(f"endpoint {name} did not start: {error}{tail}") from None
        if isinstance(error, KeyboardInterrupt | LocalModeError):
            raise
        if isinstance(error, OSError):
            raise LocalModeFailure(f"endpoint {name}: {error.strerror or error}{tail}") from error
        raise

    record = EndpointRecord(
        name=name,
        url=f"http://127.0.0.1:{port}",
        port=port,
        pid=running.handle.pid,
        model_data=model_data,
        framework=framework.name,
        started=iso_time(time.time()),
        directory=str(directory),
        container=running.container,
        backend=serving.name,
    )
    write_record(directory / RECORD_FILE, record)
    if console is not None:
        where = f"container {record.container}" if record.container else f"pid {record.pid}"
        console.write(
            f"Endpoint {name} is serving {model_data} at {record.url} ({where}); "
            f"stop it with: container-runtime stop {name}\n"
        )
        console.flush()
    return record


def serve_environment(
    port: int,
    framework: FrameworkPreset,
    *,
    program: str | None,
    workers: int,
    environment: Mapping[str, str] | None,
    s3_endpoint_url: str | None,
) -> dict[str, str]:
    """This process's environment without SageMaker variables, plus serve's settings and the user's;
    the backend adds the base dir and code dir where serve sees them."""
    env = clean_environment({
        "SAGEMAKER_SERVING_FRAMEWORK": framework.serving_framework,
        "SAGEMAKER_MODEL_SERVER_WORKERS": str(workers),
    })
    if program:
        env["SAGEMAKER_PROGRAM"] = program
    if s3_endpoint_url:
        env["S3_ENDPOINT_URL"] = s3_endpoint_url
    env.update(environment or {})
    # Last, so `environment` cannot make serve listen elsewhere than the record says.
    env["SAGEMAKER_BIND_TO_PORT"] = str(port)
    return env


def free_port() -> int:
    """A port nothing listens on now (the OS's pick), for callers that do not care which."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def check_port_free(port: int) -> None:
    """Refuse a port something already listens on, on loopback or on every address (serve binds 0.0.0.0)."""
    for host in ("127.0.0.1", "0.0.0.0"):
        with socket.socket() as probe:
            # As gunicorn does: a port whose old connections linger in TIME_WAIT is free.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as error:
                if error.errno == errno.EACCES:
                    raise LocalModeError(f"port {port} needs privileges: choose another with --port") from None
                raise LocalModeError(f"port {port} is in use: choose another with --port") from None


def _name_base(model_data: str) -> str:
    """The job's name for `.../<job>/output/model.tar.gz` (local or S3), else the model's own name."""
    path = urlparse(model_data).path if "://" in model_data else model_data
    parts = [part for part in path.rstrip("/").split("/") if part]
    if parts and parts[-1].endswith((".tar.gz", ".tgz")):
        parts.pop()
        if parts and parts[-1] == "output":
            parts.pop()
    return parts[-1] if parts else "endpoint"


def _local_model(model_data: str) -> Path | None:
    """The local file or dir `model_data` names (checked), or None for an S3 URI."""
    if model_data.startswith("s3://"):
        if not urlparse(model_data).netloc:
            raise LocalModeError(f"model data {model_data!r} names no bucket")
        return None
    text = unquote(urlparse(model_data).path) if model_data.startswith("file://") else model_data
    if "://" in text:
        raise LocalModeError(f"model data {model_data!r}: only local paths, file:// and s3:// are supported")
    path = Path(text).expanduser().resolve()
    if path.is_dir():
        if not any(path.iterdir()):
            raise LocalModeError(f"model data {str(path)!r} is an empty directory")
        return path
    if not path.is_file():
        raise LocalModeError(f"model data {str(path)!r}: no such file or directory")
    try:
        is_tar = tarfile.is_tarfile(path)
    except OSError as error:
        raise LocalModeError(f"model data {str(path)!r}: {error.strerror or error}") from None
    if not is_tar:
        raise LocalModeError(f"model data {str(path)!r} is not a tar archive (expected a model.tar.gz)")
    return path


def _code_source(entry_point: str | None, source_dir: Path | None) -> tuple[Path | None, str | None]:
    """(what to copy into code/, SAGEMAKER_PROGRAM), as the SDK reads entry_point and source_dir.

    With a source dir, the entry point is a file in it. Without one, an entry point that is an
    existing file is copied alone; any other is looked for in the model's own `code/` by serve.
    """
    if source_dir is not None:
        source = Path(source_dir).expanduser().resolve()
        if not source.is_dir():
            raise LocalModeError(f"source dir {str(source)!r}: no such directory")
        if entry_point is not None and not (source / entry_point).is_file():
            raise LocalModeError(f"entry point {entry_point!r}: no such file in {source}")
        return source, entry_point
    if entry_point is None:
        return None, None
    entry = Path(entry_point).expanduser()
    if entry.is_file():
        return entry.resolve(), entry.name
    if entry.parent != Path("."):
        raise LocalModeError(f"entry point {entry_point!r}: no such file")
    return None, entry_point


def _check_name_free(name: str, directory: Path) -> None:
    if not directory.exists():
        return
    try:
        record = read_record(directory / RECORD_FILE)
    except LocalModeError:
        record = None
    if record is not None and endpoint_alive(record):
        raise LocalModeError(f"endpoint {name} is already serving at {record.url}: stop it or choose another name")
    raise LocalModeError(f"endpoint dir {directory} already exists: choose another name, or remove it")


def _stage_model(model_data: str, local_model: Path | None, directory: Path, s3_endpoint_url: str | None) -> None:
    """Fill `<endpoint>/model`: only `model.tar.gz` (serve unpacks it in place) or the model dir's files."""
    model = directory / "model"
    if local_model is None:
        _download_model(model_data, directory, s3_endpoint_url)
    elif local_model.is_dir():
        shutil.copytree(local_model, model)
    else:
        model.mkdir()
        shutil.copyfile(local_model, model / MODEL_ARCHIVE)


def _download_model(uri: str, directory: Path, s3_endpoint_url: str | None) -> None:
    from container_runtime.local.s3 import download_prefix

    staging = directory / "download"
    download_prefix(uri, staging, endpoint_url=s3_endpoint_url, label="download model")
    model = directory / "model"
    single = uri.rstrip("/").rsplit("/", 1)[-1]
    if uri.endswith((".tar.gz", ".tgz")) and (staging / single).is_file():
        model.mkdir()
        os.replace(staging / single, model / MODEL_ARCHIVE)
        shutil.rmtree(staging)
    else:
        os.replace(staging, model)


def _copy_code(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".git"))
    else:
        target.mkdir()
        shutil.copy2(source, target / source.name)


def _wait_ready(running: RunningEndpoint, port: int, wait_seconds: float) -> None:
    """Poll /ping until 200; LocalModeError when serve exits, reports a failed model, or takes too long."""
    deadline = time.monotonic() + wait_seconds
    pause = 0.05
    last = "no answer to /ping yet"
    while True:
        code = running.handle.wait(0)
        if code is not None:
            raise LocalModeError(f"serve exited with status {code}" if not running.container else "serve exited")
        status, document = ping(port, timeout=min(5.0, max(0.5, wait_seconds)))
        if status == 200:
            return
        if status is not None:
            message = str(document.get("message") or "")
            if document.get("status") == "failed":
                raise LocalModeError(message or f"/ping answered {status}")
            last = f"last /ping: {status} {document.get('status') or ''} {message}".strip()
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise LocalModeError(f"not ready within {wait_seconds:g} s ({last})")
        time.sleep(min(pause, remaining))
        pause = min(pause * 1.5, 1.0)


def ping(port: int, timeout: float = 5.0) -> tuple[int | None, dict[str, Any]]:
    """(status, JSON body) of GET /ping on loopback; (None, {}) while nothing answers."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/ping", method="GET")
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            return int(response.status), _json_object(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return int(error.code), _json_object(error.read())
    except (OSError, ValueError):  # refused, reset, timed out, a half-started server
        return None, {}


def _json_object(body: bytes) -> dict[str, Any]:
    try:
        document = json.loads(body)
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


def _abandon(directory: Path) -> None:
    """After a failed start (serve already ended): drop the model and code copies, keep serve.log."""
    for child in ("model", "code", "download", RECORD_FILE):
        path = directory / child
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    if not (directory / LOG_FILE).exists():
        with contextlib.suppress(OSError):
            directory.rmdir()


def _log_tail(directory: Path) -> str:
    """`; <serve.log> ends: a | b | c`, or nothing when serve wrote nothing; our /ping polls are left out."""
    log = directory / LOG_FILE
    try:
        text = log.read_text(errors="replace")
        lines = [line.strip() for line in text.splitlines() if line.strip() and not _PING_ACCESS.search(line)]
    except OSError:
        return ""
    if not lines:
        return ""
    tail = " | ".join(lines[-LOG_TAIL_LINES:])
    if len(tail) > 600:
        tail = "..." + tail[-600:]
    return f"; {log} ends: {tail}"
