"""`read_process_table` over a fake /proc and `leftover_processes` over a hand-made table."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from container_runtime.process.proc_table import ProcessEntry, leftover_processes, read_process_table


def stat_line(pid: int, comm: str, state: str, ppid: int, session: int, pgrp: int | None = None) -> bytes:
    """A /proc/<pid>/stat line: pid (comm) state ppid pgrp session tty_nr tpgid flags ..."""
    pgrp = session if pgrp is None else pgrp
    rest = " ".join(["34816", str(pid), "4194560"] + ["0"] * 40)
    return f"{pid} ({comm}) {state} {ppid} {pgrp} {session} {rest}\n".encode("utf-8", "surrogateescape")


def fake_proc(tmp_path: Path, entries: dict[str, bytes | None]) -> Path:
    """Each name is a /proc entry; bytes are its `stat` content, None a dir without `stat`."""
    root = tmp_path / "proc"
    root.mkdir()
    for name, stat in entries.items():
        (root / name).mkdir()
        if stat is not None:
            (root / name / "stat").write_bytes(stat)
    return root


@pytest.mark.parametrize(
    "comm, state, expected",
    [
        pytest.param("python", "S", ProcessEntry(pid=42, ppid=7, session=40, zombie=False), id="plain"),
        pytest.param("my worker", "R", ProcessEntry(pid=42, ppid=7, session=40, zombie=False), id="space-in-name"),
        pytest.param(
            "a) S 1 1 1 (b", "S", ProcessEntry(pid=42, ppid=7, session=40, zombie=False), id="parens-and-fake-fields"
        ),
        pytest.param("(sd-pam)", "S", ProcessEntry(pid=42, ppid=7, session=40, zombie=False), id="parenthesised-name"),
        pytest.param(")", "D", ProcessEntry(pid=42, ppid=7, session=40, zombie=False), id="only-close-paren"),
        pytest.param("", "S", ProcessEntry(pid=42, ppid=7, session=40, zombie=False), id="empty-name"),
        pytest.param("python", "Z", ProcessEntry(pid=42, ppid=7, session=40, zombie=True), id="zombie"),
        pytest.param("kworker/0:1", "I", ProcessEntry(pid=42, ppid=7, session=40, zombie=False), id="idle"),
        pytest.param("python", "X", ProcessEntry(pid=42, ppid=7, session=40, zombie=False), id="dead-is-not-zombie"),
        pytest.param("\udcff\udcfe", "S", ProcessEntry(pid=42, ppid=7, session=40, zombie=False), id="non-utf8-name"),
    ],
)
def test_stat_parsing(tmp_path: Path, comm: str, state: str, expected: ProcessEntry) -> None:
    root = fake_proc(tmp_path, {"42": stat_line(42, comm, state, ppid=7, session=40, pgrp=41)})
    assert read_process_table(root) == {42: expected}


def test_table_skips_non_pids_vanished_and_malformed_entries(tmp_path: Path) -> None:
    root = fake_proc(
        tmp_path,
        {
            "1": stat_line(1, "init", "S", ppid=0, session=1),
            "10": stat_line(10, "train", "S", ppid=1, session=10),
            "11": None,  # vanished between listdir and reading stat
            "12": b"12 (short) S 1\n",  # too few fields
            "13": b"",  # empty stat
            "self": stat_line(99, "self", "S", ppid=1, session=1),
            "net": None,
            "sys": None,
        },
    )
    (root / "1x").mkdir()
    (root / "uptime").write_text("1.0 1.0\n")
    assert read_process_table(root) == {
        1: ProcessEntry(pid=1, ppid=0, session=1, zombie=False),
        10: ProcessEntry(pid=10, ppid=1, session=10, zombie=False),
    }


def test_missing_proc_root_gives_empty_table(tmp_path: Path) -> None:
    assert read_process_table(tmp_path / "no-proc") == {}


def test_real_proc_contains_this_process() -> None:
    table = read_process_table()
    me = table[os.getpid()]
    assert (me.ppid, me.session, me.zombie) == (os.getppid(), os.getsid(0), False)


def entry(pid: int, ppid: int, session: int, zombie: bool = False) -> ProcessEntry:
    return ProcessEntry(pid=pid, ppid=ppid, session=session, zombie=zombie)


# supervisor 100 (session 1); child 200 started in its own session 200.
TABLE = {
    e.pid: e
    for e in [
        entry(1, 0, 1),
        entry(100, 1, 1),  # the supervisor
        entry(150, 100, 1),  # another direct child of the supervisor (not in the child's session)
        entry(200, 100, 200),  # the child, still alive
        entry(201, 200, 200),  # grandchild in the session
        entry(202, 201, 200),  # great-grandchild in the session
        entry(203, 200, 200, zombie=True),  # zombie in the session
        entry(300, 100, 300),  # escaped with setsid, reparented to the (subreaper) supervisor
        entry(301, 300, 300),  # its child
        entry(302, 301, 302, zombie=True),  # zombie descendant
        entry(400, 1, 200),  # in the session but reparented to init
        entry(500, 1, 500),  # unrelated
        entry(501, 500, 500),  # unrelated
    ]
}


@pytest.mark.parametrize(
    "supervisor_pid, child_session, expected",
    [
        pytest.param(None, 200, [200, 201, 202, 400], id="session-members-only"),
        pytest.param(100, 200, [150, 200, 201, 202, 300, 301, 400], id="plus-descendants-of-subreaper"),
        pytest.param(None, 300, [300, 301], id="other-session"),
        pytest.param(None, 999, [], id="empty-session"),
        pytest.param(999, 999, [], id="unknown-supervisor"),
        pytest.param(500, 999, [501], id="descendants-exclude-supervisor"),
        pytest.param(1, 200, [100, 150, 200, 201, 202, 300, 301, 400, 500, 501], id="pid-1-everything-but-itself"),
    ],
)
def test_leftover_processes(supervisor_pid: int | None, child_session: int, expected: list[int]) -> None:
    assert leftover_processes(TABLE, supervisor_pid=supervisor_pid, child_session=child_session) == expected


def test_leftover_processes_tolerates_cycles_and_missing_parents() -> None:
    table = {e.pid: e for e in [entry(10, 11, 5), entry(11, 10, 5), entry(12, 999, 5)]}
    assert leftover_processes(table, supervisor_pid=10, child_session=7) == [11]
    assert leftover_processes(table, supervisor_pid=None, child_session=5) == [10, 11, 12]


def test_leftover_processes_of_empty_table() -> None:
    assert leftover_processes({}, supervisor_pid=1, child_session=1) == []


def test_kept_processes_and_their_descendants_are_never_leftovers() -> None:
    # 1 supervisor; 10 the child (session 10) with 11; 20 a parameter server with 21; 30 an orphan.
    table = {
        1: entry(1, 0, 1),
        10: entry(10, 1, 10),
        11: entry(11, 10, 10),
        20: entry(20, 1, 1),
        21: entry(21, 20, 1),
        30: entry(30, 1, 30),
    }
    assert leftover_processes(table, supervisor_pid=1, child_session=10, keep_pids=(20,)) == [10, 11, 30]
    assert leftover_processes(table, supervisor_pid=1, child_session=10) == [10, 11, 20, 21, 30]
