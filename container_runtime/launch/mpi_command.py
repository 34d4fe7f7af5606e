"""The mpirun command of a job: the plan (ranks per host, hosts, options), the argv, each rank's program.

Everything here is decided before anything starts (the counts and options by `load_config`, in
the config's `Distribution`); `launch.mpi` (one host) and
`launch.mpi_hosts` (several) run what it returns. The user's MPI options come last, so they can
override any default.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NamedTuple

from container_runtime.config.distribution import Distribution
from container_runtime.config.executables import find_executable
from container_runtime.errors import UserCodeError
from container_runtime.job import TrainingJob
from container_runtime.log import get_logger
from container_runtime.usercode.entry_point import EntryPoint, entry_point_command

logger = get_logger(__name__)
#: Variables every rank needs besides the SM_* ones.
FORWARDED_VARIABLES = (
    "PATH",
    "LD_LIBRARY_PATH",
    "PYTHONPATH",
    "PYTHONUNBUFFERED",
    "SAGEMAKER_JOB_NAME",
    "SAGEMAKER_REGION",
    "CURRENT_HOST",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_REGION",
    "AWS_DEFAULT_REGION",
    "S3_ENDPOINT_URL",
)


class MpiPlan(NamedTuple):
    hosts: tuple[str, ...]
    processes_per_host: int
    num_processes: int
    network_interface: str
    custom_options: tuple[str, ...]


def plan_mpi(distribution: Distribution, network_interface: str) -> MpiPlan:
    """The ranks, hosts and options `load_config` resolved, on `network_interface` (a name or a subnet)."""
    return MpiPlan(
        distribution.hosts,
        distribution.processes_per_host,
        distribution.num_processes,
        network_interface,
        distribution.custom_mpi_options,
    )


def mpirun_command(
    plan: MpiPlan,
    program: Sequence[str],
    exported: Sequence[str],
    mpirun: str = "mpirun",
    *,
    ssh_port: int = 22,
    launcher: str = "ssh",
) -> list[str]:
    """The complete mpirun argv. On one host, ranks start locally with no SSH.

    `launcher` "slurm": inside a Slurm allocation, Open MPI starts its daemons on the other nodes
    through Slurm (`srun`), so no host runs an SSH server for the job.

    `plan.network_interface` is an interface name or a subnet (CIDR); NCCL only takes names.

    Open MPI refuses an MCA parameter given twice with different values, so a default the
    user's options set again (`-mca NAME`, `-x NAME`, `-bind-to`, `-map-by`, `-np`, `--host`)
    is left out and the user's value stands.
    """
    overridden = _option_keys(plan.custom_options)
    defaults: list[tuple[str, list[str]]] = [("np", ["-np", str(plan.num_processes)])]
    if len(plan.hosts) == 1:
        defaults.append(("host", ["--host", f"localhost:{plan.processes_per_host}"]))
    else:
        interface = plan.network_interface
        defaults += [
            ("host", ["--host", ",".join(f"{host}:{plan.processes_per_host}" for host in plan.hosts)]),
            ("mca:btl_tcp_if_include", ["-mca", "btl_tcp_if_include", interface]),
            ("mca:oob_tcp_if_include", ["-mca", "oob_tcp_if_include", interface]),
        ]
        if launcher == "slurm":
            defaults.append(("mca:plm", ["-mca", "plm", "slurm"]))
        else:
            defaults.append(("mca:plm_rsh_no_tree_spawn", ["-mca", "plm_rsh_no_tree_spawn", "1"]))
            if ssh_port != 22:
                defaults.append(("mca:plm_rsh_args", ["-mca", "plm_rsh_args", f"-p {ssh_port}"]))
        if "/" not in interface:
            defaults.append(("x:NCCL_SOCKET_IFNAME", ["-x", f"NCCL_SOCKET_IFNAME={interface}"]))
    defaults += [
        ("bind-to", ["-bind-to", "none"]),
        ("map-by", ["-map-by", "slot"]),
        ("mca:pml", ["-mca", "pml", "ob1"]),
        # libfabric's BTL probes its providers in every rank (1.3 s here) and is no use to TCP or
        # shared memory; EFA jobs use libfabric through NCCL's plugin, not this BTL.
        ("mca:btl", ["-mca", "btl", "^openib,ofi"]),
        ("mca:orte_abort_on_non_zero_status", ["-mca", "orte_abort_on_non_zero_status", "1"]),
        ("mca:btl_vader_single_copy_mechanism", ["-mca", "btl_vader_single_copy_mechanism", "none"]),
    ]
    defaults += [(f"x:{name}", ["-x", name]) for name in exported]
    command = [mpirun, "--allow-run-as-root", "--tag-output"]
    for key, tokens in defaults:
        if key not in overridden:
            command += tokens
    return command + list(plan.custom_options) + list(program)


_MCA_FLAGS = frozenset({"-mca", "--mca", "-gmca", "--gmca"})
_SINGLE_KEYS = {
    "-np": "np",
    "-n": "np",
    "--np": "np",
    "-H": "host",
    "--host": "host",
    "-host": "host",
    "-bind-to": "bind-to",
    "--bind-to": "bind-to",
    "-map-by": "map-by",
    "--map-by": "map-by",
}


def _option_keys(options: Sequence[str]) -> set[str]:
    """Which defaults the user's mpirun options set again."""
    keys: set[str] = set()
    for index, token in enumerate(options):
        following = options[index + 1] if index + 1 < len(options) else ""
        if token in _MCA_FLAGS and following:
            keys.add(f"mca:{following}")
        elif token == "-x" and following:
            keys.add(f"x:{following.split('=', 1)[0]}")
        elif token in _SINGLE_KEYS:
            keys.add(_SINGLE_KEYS[token])
    return keys


#: Python entry points run under mpi4py (abort on any rank's exception) and our line buffering.
RANK_LAUNCHER = ("-m", "mpi4py", "-m", "container_runtime.launch.rank")


def rank_program(entry: EntryPoint, args: Sequence[str], python: str) -> list[str]:
    """What each rank runs: Python entry points through `python -m mpi4py`."""
    return entry_point_command(entry, args, python, python_launcher=RANK_LAUNCHER)


def find_mpirun(environ: Mapping[str, str]) -> str:
    mpirun = find_executable("mpirun", environ)
    if mpirun is None:
        raise UserCodeError("MPI was requested but mpirun is not installed (Debian: apt-get install openmpi-bin)")
    return mpirun


def rank_launch(job: TrainingJob, plan: MpiPlan, entry: EntryPoint, mpirun: str) -> tuple[list[str], dict[str, str]]:
    """mpirun's argv and environment: every SM_* variable and the forwarded ones go to the ranks."""
    args = job.user_args()
    env = job.child_env(args)
    exported = sorted(name for name in env if name.startswith("SM_") or name in FORWARDED_VARIABLES)
    # The operator's own ssh arguments (OMPI_MCA_plm_rsh_args) stand.
    ssh_port = 22 if "OMPI_MCA_plm_rsh_args" in env else job.config.cluster.ssh_port
    launcher = "slurm" if job.config.cluster_engine == "slurm" else "ssh"
    if launcher == "slurm":
        # Every node already runs a step (its train): mpirun's srun for the remote daemons must share them.
        env = {**env, "SLURM_OVERLAP": "1"}
    command = mpirun_command(plan, rank_program(entry, args, job.python), exported, mpirun, ssh_port=ssh_port,
                             launcher=launcher)
    return command, env


def log_launch(job: TrainingJob, plan: MpiPlan, command: Sequence[str]) -> None:
    logger.info(
        "Running %d MPI processes (%d per host on %d host%s): %s",
        plan.num_processes,
        plan.processes_per_host,
        len(plan.hosts),
        "" if len(plan.hosts) == 1 else "s",
        job.redacted(command),
    )
