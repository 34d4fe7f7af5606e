"""The multi-host test harness is local mode's namespace hosts (`container_runtime.local.netns`)."""

from container_runtime.local.netns import SSH_PORT, SUBNET, Host, HostCluster, can_make_hosts, can_run_mpi_across_hosts

__all__ = ["SSH_PORT", "SUBNET", "Host", "HostCluster", "can_make_hosts", "can_run_mpi_across_hosts"]
