"""Local endpoints: deploying (`deploy`) and the records that find, list and stop them (`records`).

    <endpoints dir>/<name>/
        model/          a copy of model.tar.gz (serve unpacks it) or of the model dir's files
        code/           a copy of the source dir, when one was given
        serve.log       serve's output
        endpoint.json   the record: written only once /ping answers 200

Where serve runs is the backend's business (`container_runtime.local.backends`).
"""

from container_runtime.local.endpoints.deploy import DEFAULT_PORT, check_port_free, deploy, free_port, ping
from container_runtime.local.endpoints.records import (
    LOG_FILE,
    RECORD_FILE,
    EndpointRecord,
    endpoint_alive,
    find_endpoint,
    list_endpoints,
    read_record,
    stop_endpoint,
    sweep_endpoints,
    write_record,
)

__all__ = [
    "DEFAULT_PORT",
    "LOG_FILE",
    "RECORD_FILE",
    "EndpointRecord",
    "check_port_free",
    "deploy",
    "endpoint_alive",
    "find_endpoint",
    "free_port",
    "list_endpoints",
    "ping",
    "read_record",
    "stop_endpoint",
    "sweep_endpoints",
    "write_record",
]
