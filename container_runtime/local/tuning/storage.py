"""Where a tuning job's study lives: a journal file in the tuning job's dir by default (safe for
several processes on one machine), or a database URL (PostgreSQL) that tuner processes on
several machines share."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from container_runtime.local.errors import LocalModeError


def open_storage(url: str | None, tuning_dir: Path) -> Any:
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    if url is None:
        tuning_dir.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(tuning_dir / "journal.log")))
    if url.startswith(("postgresql", "mysql", "sqlite")):
        return _database(url)
    if url.endswith((".log", ".journal")) or "://" not in url:
        Path(url).parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(url))
    raise LocalModeError(f"storage {_safe(url)}: use a journal file path or a postgresql:// URL")


def _database(url: str, attempts: int = 5) -> Any:
    """Optuna's RDB storage. Tuners started together on an empty database race to create its
    tables, and all but one see a duplicate-key error: they try again and find the tables made."""
    from optuna.storages import RDBStorage

    for attempt in range(1, attempts + 1):
        try:
            return RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
        except ImportError as error:
            raise LocalModeError(f"storage {_safe(url)}: {error}; pip install 'container-runtime[postgres]'") from None
        except Exception as error:  # noqa: BLE001 - SQLAlchemy's errors are many; one line for the user
            text = str(error)
            if attempt < attempts and ("UniqueViolation" in text or "already exists" in text):
                time.sleep(0.2 * attempt)
                continue
            raise LocalModeError(f"storage {_safe(url)}: cannot connect: {text.splitlines()[0]}") from None
    raise AssertionError("unreachable")


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}@{host}"
