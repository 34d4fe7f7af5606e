"""Finding processes a job left behind, from `/proc`, without importing anything heavy."""

from __future__ import annotations

import os
from pathlib import Path
from typing import NamedTuple


class ProcessEntry(NamedTuple):
    pid: int
    ppid: int
    session: int
    zombie: bool


def read_process_table(proc_root: Path = Path("/proc")) -> dict[int, ProcessEntry]:
    """Every visible process; processes that vanish while reading are skipped."""
    table: dict[int, ProcessEntry] = {}
    try:
        names = os.listdir(proc_root)
    except OSError:
        return table
    for name in names:
        if not name.isdigit():
            continue
        try:
            stat = (proc_root / name / "stat").read_bytes()
        except OSError:
            continue
        # The command name is in parentheses and may itself contain spaces or parentheses.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if len(fields) < 4:
            continue
        table[int(name)] = ProcessEntry(
            pid=int(name), ppid=int(fields[1]), session=int(fields[3]), zombie=fields[0] == b"Z"
        )
    return table


def process_entry(pid: int, proc_root: Path = Path("/proc")) -> ProcessEntry | None:
    """One process's entry, or None when there is no such process."""
    try:
        stat = (proc_root / str(pid) / "stat").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rfind(b")") + 2 :].split()
    if len(fields) < 4:
        return None
    return ProcessEntry(pid=pid, ppid=int(fields[1]), session=int(fields[3]), zombie=fields[0] == b"Z")


def leftover_processes(
    table: dict[int, ProcessEntry],
    *,
    supervisor_pid: int | None,
    child_session: int,
    keep_pids: tuple[int, ...] = (),
) -> list[int]:
    """Live processes of the child's session, plus every live descendant of `supervisor_pid`.

    Pass `supervisor_pid` only when the supervisor is a subreaper (or PID 1), so that all
    its descendants belong to the job. `keep_pids` and their descendants are never included.
    """
    found: set[int] = {entry.pid for entry in table.values() if entry.session == child_session}
    if supervisor_pid is not None:
        found.update(descendants(table, supervisor_pid))
        found.discard(supervisor_pid)
    for kept in keep_pids:
        found.discard(kept)
        found.difference_update(descendants(table, kept))
    return sorted(pid for pid in found if pid in table and not table[pid].zombie)


def descendants(table: dict[int, ProcessEntry], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in table.values():
        children.setdefault(entry.ppid, []).append(entry.pid)
    found: set[int] = set()
    stack = list(children.get(root, []))
    while stack:
        pid = stack.pop()
        if pid not in found:
            found.add(pid)
            stack.extend(children.get(pid, []))
    return found
