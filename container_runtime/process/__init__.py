"""Process mechanism: spawning, relaying output, forwarding signals, reaping.

This package knows nothing about training jobs, configs or frameworks, and imports nothing
from the rest of `container_runtime` but the leaf logger `container_runtime.log` (policy lives
above it).
"""

from container_runtime.process.group import INHERIT, PIPE, LineRelay, ProcessGroup, terminate_tree
from container_runtime.process.signals import SignalInbox
from container_runtime.process.supervisor import (
    ProcessOutcome,
    SupervisionPolicy,
    become_subreaper,
    run_supervised,
)

__all__ = [
    "INHERIT",
    "PIPE",
    "LineRelay",
    "ProcessGroup",
    "ProcessOutcome",
    "SignalInbox",
    "SupervisionPolicy",
    "become_subreaper",
    "run_supervised",
    "terminate_tree",
]
