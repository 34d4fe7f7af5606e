"""The job's hosts from a cluster engine's environment, when there is no `resourceconfig.json`.

SageMaker writes `resourceconfig.json`; Slurm, Kubernetes and Kubeflow say the same things in
variables of their own. Each reader here turns one engine's variables into the content that
file would have had (`hosts` in the engine's index order, `current_host`), or returns None
when its variables are absent. A partial or contradictory set is a `ConfigError` naming them.
The first engine whose variables are present wins, in the order of `ENGINES`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

from container_runtime.errors import ConfigError

#: Hosts of a Kubernetes Indexed Job or JobSet, from the pod spec: `train-{index}.train-svc`.
HOSTS_PATTERN = "SM_HOSTS_PATTERN"
HOST_COUNT = "SM_HOST_COUNT"


class EngineIdentity(NamedTuple):
    """Where the identity came from (for the log) and the `resourceconfig.json` content it stands for."""

    source: str
    resource_config: dict[str, Any]
    #: "slurm", "kubernetes", "kubeflow" or "mpi-operator".
    engine: str = ""


def identity_from_engine(environ: Mapping[str, str]) -> EngineIdentity | None:
    """The first engine's identity whose variables are set, or None (a single host)."""
    for reader in ENGINES:
        found = reader(environ)
        if found is not None:
            return found
    return None


# --- Slurm ---------------------------------------------------------------------------------------


def slurm_identity(environ: Mapping[str, str]) -> EngineIdentity | None:
    """`srun --ntasks-per-node=1 train`: the allocation's nodes, and this node by name or by index."""
    nodelist_variable = next((name for name in ("SLURM_JOB_NODELIST", "SLURM_NODELIST") if environ.get(name)), None)
    if nodelist_variable is None:
        return None
    source = f"environment variable {nodelist_variable}"
    hosts = expand_nodelist(environ[nodelist_variable], source=source)
    _one_task_per_node(environ, len(hosts))
    name = environ.get("SLURMD_NODENAME", "")
    if name:
        if name not in hosts:
            raise ConfigError("environment variable SLURMD_NODENAME",
                              f"{name!r} is not in {nodelist_variable} {environ[nodelist_variable]!r}")
        current = name
        used = f"{nodelist_variable} and SLURMD_NODENAME"
    else:
        index = _index(environ, "SLURM_NODEID", len(hosts), missing=f"{nodelist_variable} is set but neither "
                       "SLURMD_NODENAME nor SLURM_NODEID says which node this is")
        current = hosts[index]
        used = f"{nodelist_variable} and SLURM_NODEID"
    return EngineIdentity(f"Slurm ({used})", {"current_host": current, "hosts": hosts}, "slurm")


def _one_task_per_node(environ: Mapping[str, str], node_count: int) -> None:
    """Each node runs one `train`, which starts the ranks itself: a second task on a node would run the job twice."""
    local_id = environ.get("SLURM_LOCALID", "0")
    tasks = environ.get("SLURM_STEP_NUM_TASKS") or environ.get("SLURM_NTASKS")
    if local_id not in ("", "0") or (tasks and tasks.isdigit() and int(tasks) > node_count):
        raise ConfigError(
            "environment variable SLURM_NTASKS",
            f"{tasks or 'several'} tasks on {node_count} node(s): run one train per node "
            "(srun --ntasks-per-node=1); it starts the ranks of every node itself",
        )


_BRACKETS = re.compile(r"\[([^\[\]]*)\]")


def expand_nodelist(text: str, *, source: str = "Slurm node list") -> list[str]:
    """Slurm's compressed host list (`gpu[01-04,07],login2`, `rack[1-2]-n[1-3]`) in Slurm's order."""
    hosts: list[str] = []
    for item in _split_top_level(text.strip(), source):
        hosts.extend(_expand_item(item, source))
    if not hosts:
        raise ConfigError(source, f"no host names in {text!r}")
    if len(set(hosts)) != len(hosts):
        raise ConfigError(source, f"host names repeat in {text!r}")
    return hosts


def _split_top_level(text: str, source: str) -> list[str]:
    items, depth, start = [], 0, 0
    for position, character in enumerate(text):
        if character == "[":
            depth += 1
        elif character == "]":
            depth -= 1
            if depth < 0:
                raise ConfigError(source, f"unbalanced ']' in {text!r}")
        elif character == "," and depth == 0:
            items.append(text[start:position])
            start = position + 1
    if depth:
        raise ConfigError(source, f"unbalanced '[' in {text!r}")
    items.append(text[start:])
    if any(not item.strip() for item in items):
        raise ConfigError(source, f"an empty host name in {text!r}")
    return [item.strip() for item in items]


def _expand_item(item: str, source: str) -> list[str]:
    match = _BRACKETS.search(item)
    if match is None:
        return [item]
    prefix, suffix = item[: match.start()], item[match.end() :]
    expanded = []
    for number in _expand_ranges(match.group(1), item, source):
        expanded.extend(_expand_item(prefix + number + suffix, source))
    return expanded


def _expand_ranges(ranges: str, item: str, source: str) -> list[str]:
    numbers = []
    for part in ranges.split(","):
        low, dash, high = part.strip().partition("-")
        if not low.isdigit() or (dash and not high.isdigit()):
            raise ConfigError(source, f"cannot read the range {part!r} in {item!r}")
        if not dash:
            numbers.append(low)
            continue
        if int(high) < int(low):
            raise ConfigError(source, f"the range {part!r} in {item!r} runs backwards")
        width = len(low)  # Slurm keeps the zero padding of the range's start: 01-04 is 01 02 03 04
        numbers.extend(str(value).zfill(width) for value in range(int(low), int(high) + 1))
    return numbers


# --- Kubernetes ----------------------------------------------------------------------------------


def kubernetes_identity(environ: Mapping[str, str]) -> EngineIdentity | None:
    """An Indexed Job or JobSet pod: its completion index, and the host names the pod spec's pattern gives."""
    if "JOB_COMPLETION_INDEX" not in environ:
        return None
    hosts = _pattern_hosts(environ, "a Kubernetes Indexed Job (JOB_COMPLETION_INDEX is set)")
    index = _index(environ, "JOB_COMPLETION_INDEX", len(hosts), missing="")
    return EngineIdentity(f"Kubernetes (JOB_COMPLETION_INDEX, {HOSTS_PATTERN}, {HOST_COUNT})",
                          {"current_host": hosts[index], "hosts": hosts}, "kubernetes")


def _pattern_hosts(environ: Mapping[str, str], what: str) -> list[str]:
    pattern, count = environ.get(HOSTS_PATTERN, ""), environ.get(HOST_COUNT, "")
    if not pattern or not count:
        missing = " and ".join(name for name, value in ((HOSTS_PATTERN, pattern), (HOST_COUNT, count)) if not value)
        raise ConfigError(f"environment variable {HOSTS_PATTERN}",
                          f"{what}, but {missing} not set: the pod spec must give the host names "
                          f"({HOSTS_PATTERN}=train-{{index}}.train-svc) and their count")
    if "{index}" not in pattern or re.search(r"\{(?!index\})", pattern):
        raise ConfigError(f"environment variable {HOSTS_PATTERN}",
                          f"{pattern!r} must contain {{index}} and no other placeholder")
    if not count.isdigit() or int(count) < 1:
        raise ConfigError(f"environment variable {HOST_COUNT}", f"expected a whole number >= 1, got {count!r}")
    return [pattern.replace("{index}", str(index)) for index in range(int(count))]


# --- Kubeflow ------------------------------------------------------------------------------------


def kubeflow_identity(environ: Mapping[str, str]) -> EngineIdentity | None:
    """Kubeflow's training operator (`PET_NNODES`, `PET_NODE_RANK`, `PET_MASTER_ADDR`) with the host pattern."""
    names = ("PET_NNODES", "PET_NODE_RANK", "PET_MASTER_ADDR")
    present = [name for name in names if environ.get(name)]
    if not present:
        return None
    if len(present) < len(names):
        missing = ", ".join(name for name in names if name not in present)
        raise ConfigError(f"environment variable {present[0]}", f"Kubeflow's variables are partial: {missing} not set")
    hosts = _pattern_hosts(environ, "a Kubeflow job (PET_NNODES is set)")
    if str(len(hosts)) != environ["PET_NNODES"]:
        raise ConfigError(f"environment variable {HOST_COUNT}",
                          f"{len(hosts)} hosts, but PET_NNODES says {environ['PET_NNODES']}")
    if hosts[0] != environ["PET_MASTER_ADDR"]:
        raise ConfigError(f"environment variable {HOSTS_PATTERN}",
                          f"host 0 is {hosts[0]!r}, but PET_MASTER_ADDR is {environ['PET_MASTER_ADDR']!r}")
    index = _index(environ, "PET_NODE_RANK", len(hosts), missing="")
    return EngineIdentity("Kubeflow (PET_NNODES, PET_NODE_RANK, PET_MASTER_ADDR)",
                          {"current_host": hosts[index], "hosts": hosts}, "kubeflow")


def mpi_operator_identity(environ: Mapping[str, str]) -> EngineIdentity | None:
    """The MPI Operator's hostfile (`OMPI_MCA_orte_default_hostfile`): the hosts in its order; this one by name."""
    path = environ.get("OMPI_MCA_orte_default_hostfile", "")
    if not path:
        return None
    source = f"{path} (OMPI_MCA_orte_default_hostfile)"
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except OSError as error:
        raise ConfigError(source, f"cannot read the MPI hostfile: {error.strerror or error}") from None
    hosts = [line.split()[0] for line in lines if line.strip() and not line.lstrip().startswith("#")]
    if not hosts:
        raise ConfigError(source, "the MPI hostfile names no host")
    name = environ.get("HOSTNAME", "")
    current = next((host for host in hosts if host == name or host.split(".")[0] == name), None)
    if current is None:
        raise ConfigError("environment variable HOSTNAME", f"{name!r} is not among the hostfile's hosts {hosts}")
    return EngineIdentity(f"the MPI Operator's hostfile {path}", {"current_host": current, "hosts": hosts},
                          "mpi-operator")


def _index(environ: Mapping[str, str], name: str, count: int, *, missing: str) -> int:
    value = environ.get(name, "")
    if not value:
        raise ConfigError(f"environment variable {name}", missing or "not set")
    if not value.isdigit() or int(value) >= count:
        raise ConfigError(f"environment variable {name}",
                          f"expected an index from 0 to {count - 1} (one per host), got {value!r}")
    return int(value)


#: The order in which engines are asked; `resourceconfig.json`, when present, wins over all of them.
ENGINES: tuple[Callable[[Mapping[str, str]], EngineIdentity | None], ...] = (
    slurm_identity,
    kubernetes_identity,
    kubeflow_identity,
    mpi_operator_identity,
)
