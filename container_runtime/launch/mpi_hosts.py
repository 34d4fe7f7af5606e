"""One MPI job across several hosts: the master launches every rank, the workers wait.

Every host starts sshd. The master waits (bounded) for the hosts' names to resolve, for every
worker to join over the coordinator link with its code in place, and for their sshd to
answer; then it runs mpirun over all hosts. A worker that leaves while mpirun runs ends the
job at once, with a failure that names it. When mpirun ends, the master sends the verdict to
every worker, which exits with it: the end of the job reaches every host in well under a
second, with no fixed sleeps. A worker whose master goes away fails on its own.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

from container_runtime.cluster.errors import HostLeftError, MasterReportedFailure
from container_runtime.cluster.interfaces import choose_interface, has_interface
from container_runtime.cluster.link import Verdict
from container_runtime.cluster.master import WorkerRoster
from container_runtime.cluster.reachability import ssh_unanswered, unresolved, wait_for_hosts
from container_runtime.cluster.sshd import SshServer
from container_runtime.cluster.worker import MasterLink
from container_runtime.config.model import TrainingConfig
from container_runtime.errors import CalledProcessFailure, JobFailure
from container_runtime.job import JobStopped, TrainingJob, run_entry_point
from container_runtime.launch.mpi_command import MpiPlan, log_launch, rank_launch
from container_runtime.log import get_logger
from container_runtime.process import ProcessGroup
from container_runtime.usercode.entry_point import EntryPoint

logger = get_logger(__name__)


def run_across_hosts(job: TrainingJob, plan: MpiPlan, mpirun: str, entry: EntryPoint | None) -> None:
    config = job.config
    if config.current_host not in plan.hosts:
        logger.info("%s is not one of the MPI hosts %s: running the entry point on its own",
                    config.current_host, ", ".join(plan.hosts))
        run_entry_point(job, entry=entry)
    elif config.current_host == plan.hosts[0]:
        _run_master(job, plan, mpirun, entry)
    else:
        _run_worker(job, plan.hosts[0], entry)


def _run_master(job: TrainingJob, plan: MpiPlan, mpirun: str, entry: EntryPoint | None) -> None:
    config = job.config
    workers = plan.hosts[1:]
    with WorkerRoster(workers, config.cluster.coordinator_port) as roster:
        try:
            with _ssh_server(config) as sshd_pid:
                _launch(_keeping(job, sshd_pid), plan, mpirun, entry, roster)
        except JobStopped as stopped:
            roster.announce(Verdict("stopped", stopped.one_line(), stopped.exit_code))
            raise
        except JobFailure as failure:
            roster.announce(Verdict("failed", failure.one_line(), failure.exit_code))
            raise
        except BaseException as error:
            roster.announce(Verdict("failed", f"Framework Error: {type(error).__name__}: {error}", 1))
            raise
        roster.announce(Verdict("succeeded"))


def _launch(job: TrainingJob, plan: MpiPlan, mpirun: str, entry: EntryPoint | None, roster: WorkerRoster) -> None:
    config = job.config
    wait = config.host_wait_seconds
    stop = job.raise_if_stopped
    wait_for_hosts(plan.hosts, unresolved, what="resolved (DNS or /etc/hosts)", timeout=wait, check_stop=stop)
    entry = entry or job.prepare_code()
    roster.wait_until(roster.all_joined, timeout=wait, check_stop=stop)
    # A worker installing a long requirements.txt is not stuck: it fails or leaves if anything goes wrong.
    roster.wait_until(roster.all_ready, timeout=None, check_stop=stop)
    if config.cluster_engine != "slurm":
        port = config.cluster.ssh_port
        wait_for_hosts(plan.hosts[1:], ssh_unanswered(port), what=f"answered SSH on port {port}", timeout=wait,
                       check_stop=stop)
    configured = config.resource.network_interface_name
    joined = [roster.joined[host] for host in plan.hosts[1:]]
    interface, why = choose_interface(
        configured, has_interface(configured), [(info.interface, info.has_interface) for info in joined],
        joined[0].master_address,
    )
    logger.info("MPI traffic uses %s", why)
    plan = plan._replace(network_interface=interface)
    command, env = rank_launch(job, plan, entry, mpirun)
    log_launch(job, plan, command)
    ender = _MpirunEnder(config.stop_grace_seconds)
    roster.on_host_left = ender.end
    try:
        job.run_checked(command, env=env, on_start=ender.started, label="mpirun")
    except CalledProcessFailure as failure:
        if roster.left:
            host, detail = next(iter(roster.left.items()))
            raise HostLeftError(host, detail, failure.error_output) from failure
        raise
    finally:
        ender.mpirun = None


def _run_worker(job: TrainingJob, master: str, entry: EntryPoint | None) -> None:
    config = job.config
    wait = config.host_wait_seconds
    stop = job.raise_if_stopped
    interface = config.resource.network_interface_name
    with MasterLink(master, config.cluster.coordinator_port) as link:
        wait_for_hosts([master], unresolved, what="resolved (DNS or /etc/hosts)", timeout=wait, check_stop=stop)
        with _ssh_server(config) as sshd_pid:
            job = _keeping(job, sshd_pid)
            hello = {"joined": config.current_host, "interface": interface, "has_interface": has_interface(interface)}
            link.join(hello, timeout=wait, check_stop=stop)
            try:
                entry = entry or job.prepare_code()
            except JobFailure as failure:
                link.report_failure(failure.one_line())
                raise
            link.report_ready()
            logger.info("Worker %s is ready: the master %s starts its ranks over %s", config.current_host, master,
                        "Slurm" if config.cluster_engine == "slurm" else "SSH")
            verdict = link.wait_for_verdict(job.inbox, stop)
    if verdict.state != "succeeded":
        raise MasterReportedFailure(master, verdict.reason or verdict.state, verdict.exit_code)
    logger.info("The master %s reports that the job succeeded", master)


@contextlib.contextmanager
def _ssh_server(config: TrainingConfig) -> Iterator[int | None]:
    """Every host's sshd for mpirun, and its pid; under Slurm none: Open MPI starts its daemons through Slurm."""
    if config.cluster_engine == "slurm":
        yield None
        return
    with SshServer(config.cluster, config.inherited_environ) as sshd:
        yield sshd.pid


def _keeping(job: TrainingJob, pid: int | None) -> TrainingJob:
    """sshd and the sessions it starts are not leftovers of any step the job supervises."""
    if pid is None:
        return job
    return job._replace(policy=job.policy._replace(keep_pids=(*job.policy.keep_pids, pid)))


class _MpirunEnder:
    """Ends mpirun's process group (SIGTERM, SIGKILL after the grace) when a host leaves the job.

    The roster calls `end` from its own thread; the stop runs in one more, so the roster keeps
    reading the other workers meanwhile. The supervisor, not this, reaps mpirun.
    """

    def __init__(self, grace_seconds: float) -> None:
        self.grace_seconds = grace_seconds
        self.mpirun: ProcessGroup | None = None

    def started(self, mpirun: ProcessGroup) -> None:
        self.mpirun = mpirun

    def end(self, host: str) -> None:
        mpirun = self.mpirun
        if mpirun is None:
            return
        logger.error("Ending mpirun because %s left the job", host)
        threading.Thread(target=mpirun.stop, args=(self.grace_seconds,), name="end mpirun", daemon=True).start()
