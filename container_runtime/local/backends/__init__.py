"""Where local mode runs `train` and `serve`: the backend name table.

    process   plain processes on this machine (one training host; endpoints)
    netns     network-namespace hosts on this machine (several training hosts; root)
    docker    containers of an image (any number of hosts; endpoints)
    slurm     the nodes of one Slurm job (training only; the jobs dir on a shared filesystem)
    local     the default: `process` for one host, `netns` for several, `process` for endpoints

A backend is chosen by name here and nowhere else; job, endpoint and tuner code only see the
`Backend` interface (`backends.base`). Backends are imported when chosen, so a job on this
machine never imports Docker's code.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from container_runtime.local.backends.base import Backend
from container_runtime.local.errors import LocalModeError

AUTO = "local"
DOCKER = "docker"
#: Backend name -> "module:class", imported only when chosen.
BACKENDS = {
    "process": "container_runtime.local.backends.process:ProcessBackend",
    "netns": "container_runtime.local.backends.netns:NamespaceBackend",
    DOCKER: "container_runtime.local.backends.docker:DockerBackend",
    "slurm": "container_runtime.local.backends.slurm:SlurmBackend",
}
#: Options each backend takes (Docker's image, `--partition` and friends for Slurm), by backend name.
OPTIONS = {DOCKER: ("image",), "slurm": ("partition", "time_limit", "gpus_per_node")}
#: What `--backend` accepts.
CHOICES = (AUTO, *BACKENDS)


def check_backend(backend: str, image: str | None) -> None:
    """A known backend, and an image exactly when it is Docker's."""
    if backend not in CHOICES:
        raise LocalModeError(f"backend {backend!r}: choose {', '.join(CHOICES[:-1])} or {CHOICES[-1]}")
    if backend == DOCKER and not image:
        raise LocalModeError("--backend docker needs --image (e.g. container-runtime/chainer:cpu)")
    if backend != DOCKER and image:
        raise LocalModeError(f"image {image!r} applies only to --backend docker")


def backend_named(backend: str, *, image: str | None = None, host_count: int = 1,
                  options: Mapping[str, object] | None = None) -> Backend:
    """The backend `backend` names (`local`: process or netns by the host count), checked as a name."""
    check_backend(backend, image)
    if backend == AUTO:
        backend = "process" if host_count == 1 else "netns"
    given = {name: value for name, value in {**(options or {}), "image": image}.items() if value is not None}
    unknown = sorted(set(given) - set(OPTIONS.get(backend, ())))
    if unknown:
        raise LocalModeError(f"backend {backend!r} takes no {', '.join(unknown)}")
    chosen: Backend = _backend_class(backend)(**given)
    return chosen


def backend_for_records(backend: str) -> Backend:
    """The backend a record names, to watch or stop what it started (no image needed for that)."""
    if backend not in BACKENDS:
        raise LocalModeError(f"backend {backend!r} in a record: expected one of {', '.join(BACKENDS)}")
    found: Backend = _backend_class(backend)()
    return found


def _backend_class(backend: str) -> type[Backend]:
    """The class `BACKENDS` names, imported now."""
    module_name, _, class_name = BACKENDS[backend].partition(":")
    backend_class: type[Backend] = getattr(importlib.import_module(module_name), class_name)
    return backend_class
