"""Job and endpoint names: SageMaker's rules, unique and sortable by creation time."""

from __future__ import annotations

import re
import secrets
import time

from container_runtime.local.errors import LocalModeError

#: SageMaker's name rule: letters, digits and single hyphens inside, at most 63 characters.
NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
TIMESTAMP_LENGTH = len("2026-11-22-01-55-20-123")
SUFFIX_LENGTH = 4


def unique_name(base: str, now: float | None = None) -> str:
    """`<base>-YYYY-MM-DD-HH-MM-SS-mmm-<4 hex>`: sorts by time; the suffix keeps parallel starts apart."""
    base = re.sub(r"[^a-zA-Z0-9-]+", "-", base).strip("-") or "job"
    base = base[: 63 - TIMESTAMP_LENGTH - SUFFIX_LENGTH - 2]
    moment = time.time() if now is None else now
    stamp = time.strftime("%Y-%m-%d-%H-%M-%S", time.gmtime(moment)) + f"-{int(moment * 1000) % 1000:03d}"
    return f"{base}-{stamp}-{secrets.token_hex(SUFFIX_LENGTH // 2)}"


def validate_name(name: str, what: str = "job name") -> str:
    if not NAME.match(name):
        raise LocalModeError(
            f"{what} {name!r}: use 1-63 letters, digits and hyphens, starting and ending with a letter or digit"
        )
    return name
