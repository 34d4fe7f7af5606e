"""Start-up, health, worker replacement and shutdown of a real `serve`."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tarfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.jobs import SCRIPTS
from harness.serving import Server, make_model_dir, serve_command

GOOD = b"[[1, 2, 3]]"


def loads(base: Path) -> list[str]:
    path = base / "model" / "loads.log"
    return path.read_text().split() if path.exists() else []


def test_ping_before_during_and_after_a_slow_model_fn(start_server: Callable[..., Server]) -> None:
    server = start_server(env={"LOAD_SECONDS": "2"})
    server.wait_listening()
    reply = server.ping()
    assert reply.status == 503
    assert reply.json()["status"] == "loading"
    assert server.invoke(GOOD, "application/json").status == 503
    server.wait_ready(timeout=30)
    assert server.ping().json()["status"] == "ready"
    assert server.invoke(GOOD, "application/json").status == 200


def test_failing_model_fn_is_unhealthy_with_a_reason(start_server: Callable[..., Server]) -> None:
    server = start_server(env={"FAIL_LOAD": "1"})
    server.wait_listening()
    time.sleep(0.5)
    reply = server.ping()
    assert reply.status == 503
    assert reply.json()["status"] == "failed"
    assert "RuntimeError: weights file is corrupt" in reply.json()["message"]
    invocation = server.invoke(GOOD, "application/json")
    assert invocation.status == 503
    assert "weights file is corrupt" in invocation.json()["message"]
    assert server.process.alive()  # the server stays up to report it


def test_model_fn_runs_exactly_once_per_worker(start_server: Callable[..., Server], tmp_path: Path) -> None:
    server = start_server(workers=3)
    server.wait_ready()
    for _ in range(30):
        assert server.invoke(GOOD, "application/json").status == 200
    pids = loads(tmp_path)
    assert len(pids) == 3 and len(set(pids)) == 3


def test_user_module_is_imported_not_run(server: Server) -> None:
    # linear_model.py exits under `if __name__ == "__main__"`: reaching ready proves the guard held.
    assert server.ping().status == 200
    assert "training code ran" not in server.log()


def test_a_dead_worker_is_replaced_and_reloads(start_server: Callable[..., Server], tmp_path: Path) -> None:
    server = start_server(workers=2)
    server.wait_ready()
    victim = int(loads(tmp_path)[0])
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while len(loads(tmp_path)) < 3:
        assert time.monotonic() < deadline, server.log()
        time.sleep(0.05)
    server.wait_ready()
    assert server.invoke(GOOD, "application/json").status == 200


def test_model_tarball_alone_is_unpacked(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    make_model_dir(staging)
    model = tmp_path / "model"
    model.mkdir()
    with tarfile.open(model / "model.tar.gz", "w:gz") as archive:
        for entry in sorted((staging / "model").iterdir()):
            archive.add(entry, arcname=entry.name)
    server = Server(tmp_path, {"SAGEMAKER_PROGRAM": "linear_model.py"}, workers=1)
    try:
        server.wait_ready()
        assert server.invoke(GOOD, "application/json").json() == [[4.0, 5.0]]
        assert (model / "code" / "linear_model.py").exists()
    finally:
        assert server.stop() == 0


def test_code_requirements_are_installed_once_before_the_workers(tmp_path: Path) -> None:
    make_model_dir(tmp_path)
    # A requirements file whose only effect is observable: pip installs a local project once.
    project = tmp_path / "dependency"
    project.mkdir()
    (project / "setup.py").write_text(
        "from setuptools import setup\nsetup(name='cr-serve-dep', version='1.0', py_modules=['cr_serve_dep'])\n"
    )
    (project / "cr_serve_dep.py").write_text("FACTOR = 1\n")
    (tmp_path / "model" / "code" / "requirements.txt").write_text(f"{project}\n")
    env = {
        "SAGEMAKER_PROGRAM": "linear_model.py",
        "PIP_TARGET": str(tmp_path / "site"),
        "PIP_NO_INDEX": "1",
        "PIP_NO_BUILD_ISOLATION": "0",
    }
    server = Server(tmp_path, env, workers=2)
    try:
        server.wait_ready(timeout=180)
        assert server.log().count("[runtime] INFO Installing ") == 1
        assert (tmp_path / "site" / "cr_serve_dep.py").exists()
    finally:
        server.stop()


def test_transform_fn_with_input_fn_is_a_start_up_error(tmp_path: Path) -> None:
    model = make_model_dir(tmp_path, "clashing_model.py")
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(tmp_path), "SAGEMAKER_PROGRAM": "clashing_model.py"}
    result = subprocess.run(serve_command(), env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1
    assert "defines transform_fn together with input_fn" in result.stderr
    assert str(model / "code" / "clashing_model.py") in result.stderr


def test_bad_settings_are_one_line_errors(tmp_path: Path) -> None:
    make_model_dir(tmp_path)
    for variable, value in [("SAGEMAKER_BIND_TO_PORT", "http"), ("SAGEMAKER_MODEL_SERVER_WORKERS", "0"),
                            ("SAGEMAKER_MAX_PAYLOAD_IN_MB", "-1"), ("SAGEMAKER_SERVING_FRAMEWORK", "sklearn"),
                            ("SAGEMAKER_PROGRAM", "missing.py"), ("SAGEMAKER_MODEL_SERVER_MAX_BATCH_SIZE", "0"),
                            ("SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS", "-1"), ("SAGEMAKER_MODEL_NAME", "a/b")]:
        env = {**os.environ, "SAGEMAKER_BASE_DIR": str(tmp_path), variable: value}
        result = subprocess.run(serve_command(), env=env, capture_output=True, text=True, timeout=60, check=False)
        assert result.returncode == 1, variable
        assert variable in result.stderr
        assert "Traceback" not in result.stderr


def test_sigterm_exits_zero(server: Server) -> None:
    assert server.invoke(GOOD, "application/json").status == 200
    assert server.stop() == 0


def test_missing_model_fn_is_reported(start_server: Callable[..., Server], tmp_path: Path) -> None:
    make_model_dir(tmp_path)
    shutil.copy(SCRIPTS / "serving" / "transform_model.py", tmp_path / "model" / "code" / "no_model.py")
    source = (tmp_path / "model" / "code" / "no_model.py").read_text().replace("def model_fn", "def _unused")
    (tmp_path / "model" / "code" / "no_model.py").write_text(source)
    server = start_server("no_model.py", workers=1, prepare=False)
    server.wait_listening()
    time.sleep(0.5)
    reply = server.ping()
    assert reply.status == 503
    assert "no model_fn" in reply.json()["message"]


def test_workers_get_a_share_of_the_cores_for_math_threads(start_server: Callable[..., Server]) -> None:
    unset = {name: "" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS")}
    server = start_server(workers=2, env=unset)
    server.wait_ready()
    per_worker = max(1, (os.cpu_count() or 1) // 2)
    assert f"Math libraries use {per_worker} thread(s) per worker" in server.log()
