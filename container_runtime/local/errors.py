"""Local mode's errors: the message is the one line a user reads; the class says which exit status.

`LocalModeError` is a usage error (a bad argument, a missing file, an unreachable store, a busy
port): nothing was started, exit status 2. `LocalModeFailure` is something that was started
and failed (a job whose hosts could not run, an endpoint whose serve did not come up): exit
status 1, as for a job whose script failed.
"""

from __future__ import annotations


class LocalModeError(Exception):
    """A bad argument, a missing file, an unreachable store or a busy port; says which."""

    exit_code = 2


class LocalModeFailure(LocalModeError):
    """A job or endpoint that was started and then failed; says why."""

    exit_code = 1
