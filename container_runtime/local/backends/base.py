"""The backend interface: where a local job's training hosts and a local endpoint's `serve` run.

A backend starts the runtime's own commands (`train` on each host, `serve` for an endpoint)
somewhere (processes on this machine, network-namespace hosts, Docker containers, and later
cluster engines) and hands back a `ProcessGroup` for each, whose merged output the job relays
and whose exit status it reads. Everything a backend needs comes in the launch values, built in
one place (`commands`): nothing is read back from files the job wrote. Jobs, endpoints and the
tuner know only this interface; a new backend is one more entry in the name table
(`backends.BACKENDS`).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import IO, ClassVar, NamedTuple, Protocol

from container_runtime.local.errors import LocalModeError
from container_runtime.local.layout import JobLayout
from container_runtime.process import ProcessGroup


@dataclass(frozen=True)
class HostLaunch:
    """What one training host runs: `train` with `environment`, its base dir at `base` here."""

    host: str
    #: The host's base dir on this machine (the backend decides where the host sees it).
    base: Path
    #: train's environment, SAGEMAKER_BASE_DIR aside (the backend sets it to where the host sees `base`).
    environment: Mapping[str, str]
    #: The local code dir the job names (`sagemaker_submit_directory`), when it is one.
    source_dir: Path | None = None
    #: Variables the user set explicitly (a container passes these through besides the SageMaker ones).
    user_variables: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndpointLaunch:
    """What one endpoint runs: `serve` for the endpoint dir `directory`, listening on `port`."""

    name: str
    directory: Path
    port: int
    #: serve's environment, SAGEMAKER_BASE_DIR and SAGEMAKER_SUBMIT_DIRECTORY aside (the backend's view).
    environment: Mapping[str, str]
    has_code: bool = False
    user_variables: tuple[str, ...] = field(default=())


class HostProcess(Protocol):
    """One host's `train` as the job sees it: a `ProcessGroup` on this machine, or a proxy for a
    process a cluster engine runs elsewhere (its output relayed, its exit status reported)."""

    @property
    def stdout(self) -> IO[bytes] | None:
        """The host's merged output, read to its end."""

    def wait(self, timeout: float | None) -> int | None:
        """The exit status once the host's `train` has ended; None while it runs after `timeout` seconds."""

    def signal(self, signum: int) -> bool:
        """Deliver `signum` to the host's `train` (and what it started); False when it is gone."""


class RunningEndpoint(NamedTuple):
    """What a record keeps to find a running endpoint again: serve's pid and, in a container, its name."""

    handle: ProcessGroup
    container: str = ""


class HostSet(ABC):
    """The hosts of one job on a backend: set up on entry, every trace removed on exit."""

    #: For the job's first line: where its hosts run.
    description: str

    def __enter__(self) -> HostSet:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        return None

    #: Fields the job's record gains from this backend (a cluster engine's job id).
    record_fields: Mapping[str, object] = {}

    @abstractmethod
    def start(self, launch: HostLaunch) -> HostProcess:
        """Start `train` for one host; its stdout and stderr merged into the handle's `stdout`."""

    def start_all(self, launches: Sequence[HostLaunch]) -> dict[str, HostProcess]:
        """Start every host; an engine that runs a job's hosts as one submission overrides this."""
        return {launch.host: self.start(launch) for launch in launches}


class Backend(ABC):
    """Where training hosts and endpoints run; see the module docstring."""

    name: ClassVar[str]
    #: False for a backend that runs training hosts only.
    serves_endpoints: ClassVar[bool] = True
    #: True when the engine tells each host who it is (Slurm): the job then writes no resourceconfig.json,
    #: and `train` takes the hosts from the engine's variables.
    engine_identity: ClassVar[bool] = False

    def check(self, host_count: int, jobs_dir: Path | None = None) -> None:
        """Refuse, before anything is created or submitted, what this backend cannot run (a missing
        image, no root, a jobs dir the cluster's nodes cannot read)."""
        return None

    @abstractmethod
    def hosts(self, layout: JobLayout, hosts: Sequence[str]) -> HostSet:
        """The job's hosts, as a context manager."""

    def start_endpoint(self, launch: EndpointLaunch) -> RunningEndpoint:
        raise LocalModeError(f"the {self.name} backend runs training jobs only; serve with 'process' or 'docker'")

    def endpoint_alive(self, pid: int, container: str) -> bool:
        """Whether the endpoint recorded with this pid (and container) still serves."""
        return False

    def stop_endpoint(self, pid: int, container: str, grace_seconds: float, log_file: Path) -> None:
        """SIGTERM (in-flight requests finish), SIGKILL after the grace; serve's output ends up in `log_file`."""
        raise LocalModeError(f"the {self.name} backend runs no endpoints")

    def endpoint_failed(self, running: RunningEndpoint, grace_seconds: float, log_file: Path) -> None:
        """After a failed start: keep what serve printed in `log_file`, then end it."""
        self.stop_endpoint(running.handle.pid, running.container, grace_seconds, log_file)
