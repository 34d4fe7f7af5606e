"""TF_CONFIG for the two distribution modes, exactly as the SageMaker TensorFlow toolkit builds it.

Pure functions: the hosts and this host in, the JSON text out, with the toolkit's key order, so
scripts and tools that compare it keep working.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

#: Ports of the parameter-server layout: the script's own server, and the parameter server.
WORKER_PORT = 2222
PS_PORT = 2223
#: MultiWorkerMirroredStrategy's port.
MWMS_PORT = 8890


def parameter_server_cluster(hosts: Sequence[str]) -> dict[str, list[str]]:
    """Master on the first host, a parameter server on every host, workers on the rest."""
    cluster: dict[str, list[str]] = {"master": [f"{hosts[0]}:{WORKER_PORT}"]}
    if len(hosts) > 1:
        cluster["ps"] = [f"{host}:{PS_PORT}" for host in hosts]
    workers = [f"{host}:{WORKER_PORT}" for host in hosts[1:]]
    if workers:
        cluster["worker"] = workers
    return cluster


def parameter_server_tf_config(hosts: Sequence[str], current_host: str, *, ps_task: bool = False) -> str:
    """TF_CONFIG for the script (`master` or `worker` task) or for this host's parameter server."""
    task: dict[str, Any]
    if ps_task:
        if len(hosts) < 2:
            raise ValueError("a parameter server task needs more than one host")
        task = {"type": "ps", "index": list(hosts).index(current_host)}
    elif current_host == hosts[0]:
        task = {"type": "master", "index": 0}
    else:
        task = {"type": "worker", "index": list(hosts[1:]).index(current_host)}
    return json.dumps({"cluster": parameter_server_cluster(hosts), "environment": "cloud", "task": task})


def multi_worker_mirrored_tf_config(hosts: Sequence[str], current_host: str) -> str:
    """Every host a worker on port 8890, no chief."""
    return json.dumps(
        {
            "cluster": {"worker": [f"{host}:{MWMS_PORT}" for host in hosts]},
            "environment": "cloud",
            "task": {"index": list(hosts).index(current_host), "type": "worker"},
        }
    )
