"""Files the dashboard may serve: only those inside a record's dir, whatever the request says."""

from __future__ import annotations

from pathlib import Path


class OutsideRecords(ValueError):
    """A path that resolves outside every allowed dir (`..`, an absolute path, a symlink out)."""


def contained(root: Path, relative: str) -> Path:
    """`root / relative`, resolved; OutsideRecords if it escapes `root` by any route."""
    if not relative or "\x00" in relative or Path(relative).is_absolute():
        raise OutsideRecords(f"{relative!r}: not a path inside {root.name}")
    base = root.resolve()
    target = (base / relative).resolve()
    if target != base and base not in target.parents:
        raise OutsideRecords(f"{relative!r}: outside {root.name}")
    return target


def read_tail(path: Path, offset: int, limit: int = 1 << 20) -> tuple[bytes, int]:
    """Bytes from `offset` (at most `limit`) and the offset to ask for next, so a page can follow a growing log."""
    with path.open("rb") as handle:
        size = handle.seek(0, 2)
        start = min(max(offset, 0), size)
        handle.seek(start)
        data = handle.read(limit)
    return data, start + len(data)
