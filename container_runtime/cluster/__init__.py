"""Jobs across several hosts: reaching the other hosts, the SSH server MPI needs, and the link
between the master and its workers that carries readiness and the job's verdict.

Nothing here is imported on the single-host path.
"""
