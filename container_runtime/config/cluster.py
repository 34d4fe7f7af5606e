"""Settings for jobs that span several hosts: the SSH server MPI needs and the hosts' link.

Read from the environment once, like every other setting; only multi-host jobs use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

from container_runtime.errors import ConfigError

DEFAULT_SSH_PORT = 22
#: The port the master listens on for its workers (a TCP link that carries readiness and the verdict).
DEFAULT_COORDINATOR_PORT = 7319


class ClusterSettings(NamedTuple):
    #: The port every host's sshd listens on and mpirun's ssh connects to.
    ssh_port: int = DEFAULT_SSH_PORT
    #: sshd to start; None means `sshd` on PATH, then /usr/sbin/sshd.
    sshd_path: str | None = None
    #: An sshd_config for `sshd -f`; None means sshd's own default.
    sshd_config: str | None = None
    coordinator_port: int = DEFAULT_COORDINATOR_PORT


def load_cluster_settings(environ: Mapping[str, str]) -> ClusterSettings:
    return ClusterSettings(
        ssh_port=_port(environ, "SM_SSH_PORT", DEFAULT_SSH_PORT),
        sshd_path=environ.get("SM_SSHD_PATH") or None,
        sshd_config=environ.get("SM_SSHD_CONFIG") or None,
        coordinator_port=_port(environ, "SM_COORDINATOR_PORT", DEFAULT_COORDINATOR_PORT),
    )


def _port(environ: Mapping[str, str], name: str, default: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    if not raw.isdecimal() or not 1 <= int(raw) <= 65535:
        raise ConfigError(f"environment variable {name}", f"expected a TCP port from 1 to 65535, got {raw!r}")
    return int(raw)
