"""Endpoint records: `endpoint.json` in each endpoint's dir, and finding, listing and stopping endpoints.

A record is written (atomically) only once /ping answers 200, so it always names a process that
served. A record whose serve has gone is stale: listing removes it (serve.log stays for
diagnosis). Whether an endpoint still serves, and how it stops, is its backend's business; the
record names the backend, so nothing here branches on where an endpoint runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
from pathlib import Path
from typing import NamedTuple

from container_runtime.local.backends import backend_for_records
from container_runtime.local.errors import LocalModeError
from container_runtime.local.names import validate_name

logger = logging.getLogger(__name__)

RECORD_FILE = "endpoint.json"
LOG_FILE = "serve.log"


class EndpointRecord(NamedTuple):
    name: str
    url: str
    port: int
    pid: int
    model_data: str
    framework: str
    #: ISO 8601 time (UTC) at which the endpoint answered its first healthy /ping.
    started: str
    directory: str
    #: The Docker container serving it (`--backend docker`; `pid` is its serve); empty for a local serve.
    container: str = ""
    #: The backend serving it (`backends.BACKENDS`).
    backend: str = ""

    @property
    def backend_name(self) -> str:
        """Records written before `backend` existed: a container means Docker, else a local process."""
        return self.backend or ("docker" if self.container else "process")

    def to_json(self) -> str:
        return json.dumps(self._asdict(), indent=2) + "\n"

    @classmethod
    def from_json(cls, text: str) -> EndpointRecord:
        """Parse a record; ValueError (with the reason) for anything that is not one."""
        document = json.loads(text)
        if not isinstance(document, dict):
            raise ValueError("expected a JSON object")
        missing = [field for field in cls._fields if field not in document and field not in cls._field_defaults]
        if missing:
            raise ValueError(f"missing {', '.join(missing)}")
        record = cls(**{field: document[field] for field in cls._fields if field in document})
        if not isinstance(record.port, int) or not isinstance(record.pid, int) or record.pid <= 0:
            raise ValueError("port and pid must be positive integers")
        return record


def endpoint_alive(record: EndpointRecord) -> bool:
    return backend_for_records(record.backend_name).endpoint_alive(record.pid, record.container)


def write_record(path: Path, record: EndpointRecord) -> None:
    partial = path.with_name(path.name + ".partial")
    partial.write_text(record.to_json())
    os.replace(partial, path)


def read_record(path: Path) -> EndpointRecord:
    try:
        return EndpointRecord.from_json(path.read_text())
    except FileNotFoundError:
        raise LocalModeError(f"no endpoint record at {path}") from None
    except (ValueError, TypeError) as error:
        raise LocalModeError(f"{path}: not an endpoint record ({error})") from None


def sweep_endpoints(endpoints_dir: Path) -> tuple[list[EndpointRecord], list[EndpointRecord]]:
    """(live, stale) endpoints, by name; stale records (their process gone) are removed."""
    live: list[EndpointRecord] = []
    stale: list[EndpointRecord] = []
    if not Path(endpoints_dir).is_dir():
        return live, stale
    for path in sorted(Path(endpoints_dir).glob(f"*/{RECORD_FILE}")):
        try:
            record = read_record(path)
        except LocalModeError as error:
            logger.warning("Skipping %s", error)
            continue
        if endpoint_alive(record):
            live.append(record)
        else:
            _forget(record, path)
            logger.info("Endpoint %s is gone (serve pid %d exited); removed its record", record.name, record.pid)
            stale.append(record)
    return live, stale


def list_endpoints(endpoints_dir: Path) -> list[EndpointRecord]:
    """The endpoints whose serve still runs; stale records are removed on the way."""
    return sweep_endpoints(endpoints_dir)[0]


def find_endpoint(name: str, endpoints_dir: Path) -> EndpointRecord:
    """The live endpoint `name`; LocalModeError naming it when there is none (a stale record is removed)."""
    validate_name(name, "endpoint name")
    path = Path(endpoints_dir) / name / RECORD_FILE
    if not path.is_file():
        raise LocalModeError(f"no endpoint named {name!r} in {endpoints_dir}")
    record = read_record(path)
    if not endpoint_alive(record):
        _forget(record, path)
        raise LocalModeError(
            f"endpoint {name} is no longer running (serve pid {record.pid} exited); see {path.parent / LOG_FILE}"
        )
    return record


def stop_endpoint(name: str, endpoints_dir: Path, grace_seconds: float = 30.0) -> EndpointRecord:
    """SIGTERM to serve's process group (in-flight requests finish), SIGKILL after `grace_seconds`.

    The record goes even when serve had already exited; serve.log and the model copy stay.
    """
    validate_name(name, "endpoint name")
    path = Path(endpoints_dir) / name / RECORD_FILE
    if not path.is_file():
        raise LocalModeError(f"no endpoint named {name!r} in {endpoints_dir}")
    record = read_record(path)
    backend_for_records(record.backend_name).stop_endpoint(record.pid, record.container, grace_seconds,
                                                           path.parent / LOG_FILE)
    _remove_record(path)
    return record


def _forget(record: EndpointRecord, path: Path) -> None:
    """An endpoint whose serve exited: what its backend left (an exited container: output kept in
    serve.log) and its record go."""
    if record.container:
        backend_for_records(record.backend_name).stop_endpoint(record.pid, record.container, 0, path.parent / LOG_FILE)
    _remove_record(path)


def _remove_record(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()
