"""The test PostgreSQL server: a real server that two tuner processes share through Optuna's RDB storage.

Checks that the harness itself works (start, connect, share a study, stop) and leaves
nothing behind: no server process, no backend, no data directory, no listening port.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import psutil
import pytest

from harness.postgres import can_run_postgres, running_postgres

_SKIP_REASON = can_run_postgres()
pytestmark = pytest.mark.skipif(_SKIP_REASON is not None, reason=_SKIP_REASON or "")

# One tuner: its own `optuna.load_study` handle on the shared storage, in its own process.
_TUNER = textwrap.dedent(
    """
    import sys

    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url, study_name, n_trials = sys.argv[1], sys.argv[2], int(sys.argv[3])
    study = optuna.load_study(study_name=study_name, storage=optuna.storages.RDBStorage(url))
    study.optimize(lambda trial: (trial.suggest_float("x", -10.0, 10.0) - 2.0) ** 2, n_trials=n_trials)
    """
)


def test_two_tuner_processes_share_a_study_and_the_server_leaves_nothing_behind(tmp_path: Path) -> None:
    optuna = pytest.importorskip("optuna")
    sqlalchemy = pytest.importorskip("sqlalchemy")

    started = time.monotonic()
    with running_postgres(tmp_path) as server:
        start_s = time.monotonic() - started
        postmaster = psutil.Process(server.pid)
        backends = postmaster.children(recursive=True)
        assert backends, "a running postmaster has background processes (checkpointer, walwriter, ...)"

        engine = sqlalchemy.create_engine(server.url)
        try:
            with engine.connect() as connection:
                version = connection.execute(sqlalchemy.text("SELECT version()")).scalar_one()
                database = connection.execute(sqlalchemy.text("SELECT current_database()")).scalar_one()
        finally:
            engine.dispose()
        assert str(version).startswith("PostgreSQL")
        assert database == server.database

        storage = optuna.storages.RDBStorage(server.url)
        study = optuna.create_study(study_name="shared", storage=storage)
        tuners = [
            subprocess.Popen(
                [sys.executable, "-c", _TUNER, server.url, "shared", str(n_trials)],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for n_trials in (3, 2)
        ]
        for tuner in tuners:
            output, _ = tuner.communicate(timeout=120)
            assert tuner.returncode == 0, output

        trials = study.get_trials(deepcopy=False)
        assert len(trials) == 5
        assert sorted(trial.number for trial in trials) == list(range(5))
        assert all(trial.state == optuna.trial.TrialState.COMPLETE for trial in trials)
        assert study.best_value == min(trial.value for trial in trials)
        backends += postmaster.children(recursive=True)  # with the backend serving this process's storage
        storage.engine.dispose()
        stopping = time.monotonic()

    print(f"postgres: started in {start_s:.2f} s, stopped in {time.monotonic() - stopping:.2f} s")
    # is_running() also compares the start time, so a reused pid does not count as a survivor.
    survivors = [process for process in [postmaster, *backends] if process.is_running()]
    assert not survivors, f"PostgreSQL processes left behind: {survivors}"
    assert not [
        process.pid
        for process in psutil.process_iter(["cmdline"])
        if str(server.data_dir) in " ".join(process.info["cmdline"] or [])
    ], f"a process still runs on {server.data_dir}"
    assert not server.data_dir.exists()
    assert not server.data_dir.parent.exists()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        assert probe.connect_ex((server.host, server.port)) != 0, "something still listens on the server's port"
    assert server.log_path.is_file() and "database system is shut down" in server.log_path.read_text()


def test_the_server_stops_and_its_data_dir_goes_when_the_block_raises(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError, match="boom"), running_postgres(tmp_path) as server:
        postmaster = psutil.Process(server.pid)
        raise RuntimeError("boom")
    assert not postmaster.is_running()
    assert not server.data_dir.parent.exists()
