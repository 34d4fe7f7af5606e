"""Runs a user's script or module in an MPI rank with line-buffered output and its own host's identity.

Ranks write to pipes, where Python buffers stdout in blocks (lines arrive late) or, with
PYTHONUNBUFFERED, writes every `print` argument separately (`mpirun --tag-output` then tags
each fragment). Line buffering gives whole, timely lines.

mpirun exports the master's SM_* variables to every rank, so a rank on algo-2 would read
`SM_CURRENT_HOST=algo-1`. Before the user's code runs, the host-specific values are taken
from this host's own `resourceconfig.json` (at the same path on every host; without one, as
under a cluster engine, from the host of SM_HOSTS named as this machine is), and
`socket.gethostname()` and `MPI.Get_processor_name()` answer the host's name even where the
OS name differs (a container started without `--hostname algo-N`), as ChainerMN needs to
count the ranks on each node.

Invoked as `python -m mpi4py -m container_runtime.launch.rank <script.py | -m module> [args...]`,
so mpi4py still aborts the whole job when any rank raises.
"""

from __future__ import annotations

import json
import os
import runpy
import socket
import sys
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any


def main(argv: list[str]) -> None:
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(line_buffering=True, write_through=False)
    host = adopt_this_hosts_identity(os.environ)
    if host is not None:
        answer_host_name(host)
    if len(argv) >= 2 and argv[0] == "-m":
        sys.argv = [argv[1], *argv[2:]]
        runpy.run_module(argv[1], run_name="__main__", alter_sys=True)
    elif argv:
        sys.argv = list(argv)
        runpy.run_path(argv[0], run_name="__main__")
    else:
        raise SystemExit("usage: python -m mpi4py -m container_runtime.launch.rank <script.py | -m module> [args...]")


def answer_host_name(host: str) -> None:
    """Make Python's view of the machine name `host` when the OS says otherwise."""
    if socket.gethostname() == host:
        return
    socket.gethostname = lambda: host
    mpi = sys.modules.get("mpi4py.MPI")
    if mpi is not None:
        mpi.Get_processor_name = lambda: host  # type: ignore[attr-defined]


def adopt_this_hosts_identity(environ: MutableMapping[str, str]) -> str | None:
    """Rewrite the host-specific SM_* values for this host; returns its name (None if unknown)."""
    config_dir = environ.get("SM_INPUT_CONFIG_DIR")
    if not config_dir:
        return None
    try:
        resource = json.loads((Path(config_dir) / "resourceconfig.json").read_text())
    except FileNotFoundError:
        resource = _resource_from_host_name(environ)
    except (OSError, ValueError):
        return None
    host = resource.get("current_host") if isinstance(resource, dict) else None
    if not isinstance(host, str) or not host:
        return None
    if environ.get("SM_CURRENT_HOST") == host:
        return host
    values: dict[str, Any] = {"current_host": host, "resource_config": resource}
    group = resource.get("current_group_name")
    if isinstance(group, str) and group:
        values["current_instance_group"] = group
        for entry in resource.get("instance_groups") or []:
            if isinstance(entry, dict) and entry.get("instance_group_name") == group:
                values["current_instance_group_hosts"] = entry.get("hosts", [])
    instance_type = resource.get("current_instance_type")
    if isinstance(instance_type, str) and instance_type:
        values["current_instance_type"] = instance_type
    try:
        training_env = json.loads(environ.get("SM_TRAINING_ENV", "{}"))
    except ValueError:
        training_env = {}
    if isinstance(training_env, dict) and training_env:
        training_env.update(values)
        training_env["is_master"] = host == training_env.get("master_hostname")
        environ["SM_TRAINING_ENV"] = json.dumps(training_env)
    for key, value in values.items():
        name = f"SM_{key.upper()}"
        if name in environ:
            environ[name] = value if isinstance(value, str) else json.dumps(value)
    if "CURRENT_HOST" in environ:
        environ["CURRENT_HOST"] = host
    hosts = resource.get("hosts")
    if "SM_CURRENT_HOST_RANK" in environ and isinstance(hosts, list) and host in hosts:
        environ["SM_CURRENT_HOST_RANK"] = str(hosts.index(host))  # SDK v3's, in the resource config's order
    return host


def _resource_from_host_name(environ: MutableMapping[str, str]) -> dict[str, Any] | None:
    """With no resourceconfig.json (hosts from a cluster engine: a Slurm node, a Kubernetes pod),
    this host is the one of SM_HOSTS whose name, or first label, is the machine's own name."""
    try:
        hosts = json.loads(environ.get("SM_HOSTS", "[]"))
    except ValueError:
        return None
    name = socket.gethostname()
    if not isinstance(hosts, list):
        return None
    matches = [host for host in hosts if isinstance(host, str) and name in (host, host.split(".")[0])]
    return {"current_host": matches[0], "hosts": hosts} if len(matches) == 1 else None


if __name__ == "__main__":
    main(sys.argv[1:])
