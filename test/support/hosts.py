"""The multi-host test harness is local mode's namespace hosts (`local_mode.netns`)."""

from local_mode.netns import SSH_PORT, SUBNET, Host, HostCluster, can_make_hosts, can_run_mpi_across_hosts

__all__ = ["SSH_PORT", "SUBNET", "Host", "HostCluster", "can_make_hosts", "can_run_mpi_across_hosts"]
