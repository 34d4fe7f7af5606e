"""A real PostgreSQL server that a test starts and stops itself, e.g. for a shared Optuna `RDBStorage`.

`running_postgres(root)` runs `initdb` on a fresh data directory, starts `postgres` in the
foreground as a child process on 127.0.0.1 at a free port (crash-unsafe settings, for
speed), creates a database and yields its SQLAlchemy URL. On exit it stops the server
(SIGINT, PostgreSQL's fast shutdown, then SIGKILL to it and its backends after a bound)
and removes the data directory, also when the block raised. The server log stays in `root`.

The binaries come from `pg_config --bindir`, the newest `/usr/lib/postgresql/*/bin`
(Debian's `postgresql` package) or PATH. PostgreSQL refuses to run as root, so as root the
server runs as the `postgres` system user (the Debian package creates it) or else `nobody`;
its data directory then lives in a fresh directory that user owns, under `root` when that
user can reach it and otherwise in the system temporary directory (pytest's
`/tmp/pytest-of-root` is 0700).
"""

from __future__ import annotations

import contextlib
import glob
import importlib.util
import os
import pwd
import re
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import psutil

__all__ = ["PostgresServer", "can_run_postgres", "find_server_binaries", "running_postgres"]

_HOST = "127.0.0.1"
_SUPERUSER = "postgres"
_START_TIMEOUT_S = 30.0
_INITDB_TIMEOUT_S = 60.0
_STOP_TIMEOUT_S = 15.0
_KILL_TIMEOUT_S = 5.0
_PORT_ATTEMPTS = 3
# A Unix socket path must fit in sockaddr_un.sun_path (108 bytes on Linux, NUL included).
_MAX_SOCKET_PATH = 100
# Durability is pointless for a throw-away test database; these make writes much cheaper.
_SERVER_SETTINGS = ("fsync=off", "synchronous_commit=off", "full_page_writes=off")


@dataclass(frozen=True)
class PostgresServer:
    """Where a running test PostgreSQL server listens; trust authentication, no password."""

    host: str
    port: int
    user: str
    database: str
    data_dir: Path
    socket_dir: Path
    log_path: Path
    pid: int

    @property
    def url(self) -> str:
        """SQLAlchemy URL of the test database (for `optuna.storages.RDBStorage`)."""
        return f"postgresql+psycopg2://{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def dsn(self) -> str:
        """libpq connection string of the test database (for `psycopg2.connect`)."""
        return f"host={self.host} port={self.port} user={self.user} dbname={self.database}"


@dataclass(frozen=True)
class _Binaries:
    initdb: Path
    postgres: Path


@dataclass(frozen=True)
class _RunAs:
    """The unprivileged account the server runs as when the tests run as root."""

    name: str
    uid: int
    gid: int

    def popen_kwargs(self) -> dict[str, Any]:
        # extra_groups=[] drops root's supplementary groups too.
        return {"user": self.uid, "group": self.gid, "extra_groups": []}


def find_server_binaries() -> _Binaries | None:
    """`initdb` and `postgres` from `pg_config --bindir`, the newest Debian install, or PATH."""
    directories: list[Path] = []
    pg_config = shutil.which("pg_config")
    if pg_config is not None:
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            bindir = subprocess.run(
                [pg_config, "--bindir"], capture_output=True, text=True, timeout=10, check=True
            ).stdout.strip()
            if bindir:
                directories.append(Path(bindir))
    # Debian's libpq-dev ships a pg_config whose bindir has no server: look further.
    directories.extend(
        Path(path) for path in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_key, reverse=True)
    )
    for directory in directories:
        initdb, postgres = directory / "initdb", directory / "postgres"
        if _is_executable(initdb) and _is_executable(postgres):
            return _Binaries(initdb=initdb, postgres=postgres)
    initdb_path, postgres_path = shutil.which("initdb"), shutil.which("postgres")
    if initdb_path is not None and postgres_path is not None:
        return _Binaries(initdb=Path(initdb_path), postgres=Path(postgres_path))
    return None


def can_run_postgres() -> str | None:
    """Why `running_postgres` cannot work here (a pytest skip reason), or None when it can."""
    if find_server_binaries() is None:
        return "no PostgreSQL server binaries (initdb, postgres) found: apt-get install postgresql"
    if importlib.util.find_spec("psycopg2") is None:
        return "psycopg2 is not installed: pip install '.[postgres]'"
    if os.geteuid() == 0 and _unprivileged_account() is None:
        return "running as root and neither a 'postgres' nor a 'nobody' account exists to run PostgreSQL as"
    return None


@contextmanager
def running_postgres(root: Path, database: str = "test") -> Iterator[PostgresServer]:
    """Run a fresh PostgreSQL server with an empty `database` for the duration of the block.

    Every wait is bounded: `initdb` gets 60 s, the server 30 s to accept connections
    (`RuntimeError` with the log's tail otherwise) and 15 s to shut down before it is killed.
    """
    reason = can_run_postgres()
    if reason is not None:
        raise RuntimeError(reason)
    binaries = find_server_binaries()
    assert binaries is not None
    run_as = _unprivileged_account() if os.geteuid() == 0 else None
    root = Path(root).resolve()
    root.mkdir(parents=True, exist_ok=True)

    work = _make_work_dir(root, run_as)
    log_path = root / f"{work.name}.log"
    process: subprocess.Popen[bytes] | None = None
    try:
        data_dir, socket_dir = work / "data", work / "socket"
        for directory in (data_dir, socket_dir):
            directory.mkdir(mode=0o700)
            if run_as is not None:
                os.chown(directory, run_as.uid, run_as.gid)
        with open(log_path, "ab") as log:
            _initdb(binaries, data_dir, work, run_as, log, log_path)
            process, port = _start(binaries, data_dir, socket_dir, work, run_as, log, log_path)
        _create_database(port, database)
        yield PostgresServer(
            host=_HOST,
            port=port,
            user=_SUPERUSER,
            database=database,
            data_dir=data_dir,
            socket_dir=socket_dir,
            log_path=log_path,
            pid=process.pid,
        )
    finally:
        try:
            if process is not None:
                _stop(process)
        finally:
            shutil.rmtree(work, ignore_errors=True)


def _make_work_dir(root: Path, run_as: _RunAs | None) -> Path:
    """A fresh directory the server's account owns, with a short enough path for the socket."""
    parent: Path | None = root
    socket_path_length = len(str(root)) + len("/pg-xxxxxxxx/socket/.s.PGSQL.65535")
    if socket_path_length > _MAX_SOCKET_PATH or (run_as is not None and not _traversable(root, run_as)):
        parent = None  # the system temporary directory: short, and world-traversable
    work = Path(tempfile.mkdtemp(prefix="pg-", dir=parent))
    if run_as is not None:
        os.chown(work, run_as.uid, run_as.gid)
        if not _traversable(work, run_as):
            shutil.rmtree(work, ignore_errors=True)
            raise RuntimeError(f"user {run_as.name} cannot reach {work}: PostgreSQL cannot run there")
    return work


def _initdb(
    binaries: _Binaries, data_dir: Path, work: Path, run_as: _RunAs | None, log: IO[bytes], log_path: Path
) -> None:
    command = [
        str(binaries.initdb),
        "--pgdata",
        str(data_dir),
        "--username",
        _SUPERUSER,
        "--auth",
        "trust",
        "--encoding",
        "UTF8",
        "--locale",
        "C",
        "--no-sync",  # nothing here needs to survive a crash
    ]
    log.write(f"$ {' '.join(command)}\n".encode())
    log.flush()
    result = subprocess.run(
        command,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=work,
        env=_environment(work),
        timeout=_INITDB_TIMEOUT_S,
        check=False,
        **(run_as.popen_kwargs() if run_as is not None else {}),
    )
    if result.returncode != 0:
        log.flush()
        raise RuntimeError(f"initdb failed with exit status {result.returncode}:\n{_tail(log_path)}")


def _start(
    binaries: _Binaries,
    data_dir: Path,
    socket_dir: Path,
    work: Path,
    run_as: _RunAs | None,
    log: IO[bytes],
    log_path: Path,
) -> tuple[subprocess.Popen[bytes], int]:
    """Start the server at a free port; retry with another port if someone took it meanwhile."""
    for attempt in range(1, _PORT_ATTEMPTS + 1):
        port = _free_port()
        command = [str(binaries.postgres), "-D", str(data_dir), "-h", _HOST, "-p", str(port), "-k", str(socket_dir)]
        for setting in _SERVER_SETTINGS:
            command += ["-c", setting]
        log.write(f"$ {' '.join(command)}\n".encode())
        log.flush()
        log_offset = log.tell()
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=work,
            env=_environment(work),
            start_new_session=True,  # a Ctrl-C at the terminal is for pytest; _stop shuts the server down
            **(run_as.popen_kwargs() if run_as is not None else {}),
        )
        try:
            if _wait_until_ready(process, port, log_path):
                return process, port
        except BaseException:
            _stop(process)
            raise
        log_text = log_path.read_bytes()[log_offset:].decode(errors="replace")
        if attempt < _PORT_ATTEMPTS and re.search(r"could not bind|Address already in use", log_text):
            continue
        raise RuntimeError(
            f"PostgreSQL exited with status {process.returncode} before accepting connections:\n{_tail(log_path)}"
        )
    raise AssertionError("unreachable")


def _wait_until_ready(process: subprocess.Popen[bytes], port: int, log_path: Path) -> bool:
    """True once the server accepts connections; False if it exited first."""
    import psycopg2

    deadline = time.monotonic() + _START_TIMEOUT_S
    while True:
        if process.poll() is not None:
            return False
        try:
            psycopg2.connect(host=_HOST, port=port, user=_SUPERUSER, dbname="postgres", connect_timeout=2).close()
            return True
        except psycopg2.OperationalError as error:
            if time.monotonic() > deadline:
                raise RuntimeError(
                    f"PostgreSQL did not accept connections on {_HOST}:{port} within {_START_TIMEOUT_S:.0f} s"
                    f" ({str(error).strip()}); end of {log_path}:\n{_tail(log_path)}"
                ) from None
            time.sleep(0.05)


def _create_database(port: int, database: str) -> None:
    import psycopg2
    from psycopg2 import sql

    connection = psycopg2.connect(host=_HOST, port=port, user=_SUPERUSER, dbname="postgres", connect_timeout=5)
    try:
        connection.autocommit = True  # CREATE DATABASE cannot run in a transaction block
        with connection.cursor() as cursor:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
    finally:
        connection.close()


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Fast shutdown (SIGINT); if that takes too long, SIGKILL the postmaster and its backends."""
    if process.poll() is not None:
        return  # it exited on its own: its backends notice the postmaster's death and exit too
    with contextlib.suppress(ProcessLookupError):
        process.send_signal(signal.SIGINT)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(_STOP_TIMEOUT_S)
        return  # a clean shutdown waits for every backend
    # Every backend calls setsid(), so no process-group signal reaches them: list them, with the
    # postmaster frozen so that it forks no more, then kill the postmaster first (no restarts).
    backends: list[psutil.Process] = []
    with contextlib.suppress(psutil.Error):
        postmaster = psutil.Process(process.pid)
        postmaster.suspend()
        backends = postmaster.children(recursive=True)
    process.kill()
    for backend in backends:
        with contextlib.suppress(psutil.Error):
            backend.kill()
    try:
        process.wait(_KILL_TIMEOUT_S)
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"PostgreSQL (pid {process.pid}) survived SIGKILL for {_KILL_TIMEOUT_S:.0f} s") from error
    _, alive = psutil.wait_procs(backends, timeout=_KILL_TIMEOUT_S)
    if alive:
        raise RuntimeError(f"PostgreSQL backends survived SIGKILL for {_KILL_TIMEOUT_S:.0f} s: {alive}")


def _unprivileged_account() -> _RunAs | None:
    for name in ("postgres", "nobody"):
        try:
            entry = pwd.getpwnam(name)
        except KeyError:
            continue
        return _RunAs(name=name, uid=entry.pw_uid, gid=entry.pw_gid)
    return None


def _traversable(path: Path, run_as: _RunAs) -> bool:
    """Whether `run_as` (primary group only) may search every directory from / down to `path`."""
    for directory in (path, *path.parents):
        try:
            status = directory.stat()
        except OSError:
            return False
        if status.st_uid == run_as.uid:
            bit = stat.S_IXUSR
        elif status.st_gid == run_as.gid:
            bit = stat.S_IXGRP
        else:
            bit = stat.S_IXOTH
        if not status.st_mode & bit:
            return False
    return True


def _environment(work: Path) -> dict[str, str]:
    """A minimal environment: no PG* variables or locale settings of the caller leak in."""
    return {
        "PATH": os.environ.get("PATH", "/usr/local/bin:/usr/bin:/bin"),
        "HOME": str(work),
        "TMPDIR": str(work),
        "LANG": "C",
        "LC_ALL": "C",
    }


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((_HOST, 0))
        return int(probe.getsockname()[1])


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def _version_key(path: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", Path(path).parent.name))


def _tail(log_path: Path, lines: int = 40) -> str:
    try:
        text = log_path.read_text(errors="replace")
    except OSError as error:
        return f"(no server log at {log_path}: {error})"
    return "\n".join(text.splitlines()[-lines:])
