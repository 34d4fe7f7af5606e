"""The contract every local-mode backend passes: `process`, `netns` (root) and `docker` (a daemon).

Each backend runs the same jobs through the job API that the CLI, the estimator and the tuner
use: its hosts start `train`, their output is relayed (console and per-host logs), a stop
request reaches every script as SIGTERM, each host's exit status is reported, and nothing the
job started is left afterwards. A new backend (a cluster engine) joins the `BACKENDS` list.
"""

from __future__ import annotations

import io
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from container_runtime.local.backends.netns import run_id_for
from container_runtime.local.presets import GENERIC
from container_runtime.local.training import JobControl, TrainingJobResult, TrainingJobSpec, run_training_job
from harness.hosts import can_make_hosts
from harness.jobs import processes_of_job

BACKENDS = ["process", "netns", "docker"]

HELLO = "import os\nprint('hello from', os.environ['SM_CURRENT_HOST'], flush=True)\n"
FAILS_ON_THE_LAST_HOST = (
    "import json, os, sys\n"
    "hosts = json.loads(os.environ['SM_HOSTS'])\n"
    "if os.environ['SM_CURRENT_HOST'] == hosts[-1]:\n"
    "    sys.exit(3)\n"
)
STOPPABLE = (
    "import os, signal, sys, time\n"
    "def stop(*_):\n"
    "    open(os.path.join(os.environ['SM_MODEL_DIR'], 'stopped-by-sigterm'), 'w').close()\n"
    "    sys.exit(0)\n"
    "signal.signal(signal.SIGTERM, stop)\n"
    "print('training', flush=True)\n"
    "time.sleep(300)\n"
)


@dataclass
class BackendUnderTest:
    name: str
    hosts: int
    image: str | None
    #: What the backend left running or existing for the job in `job_dir`; empty when clean.
    leftovers: Callable[[Path], list[str]]


def processes_of(job_dir: Path) -> list[str]:
    return [f"pid {pid}" for pid in processes_of_job(job_dir)]


def namespaces() -> set[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=False).stdout
    return {line.split()[0] for line in listed.splitlines() if line.strip()}


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[BackendUnderTest]:
    name = request.param
    if name == "process":
        yield BackendUnderTest(name, 1, None, processes_of)
    elif name == "netns":
        reason = can_make_hosts()
        if reason is not None:
            pytest.skip(reason)
        def ours(job_dir: Path) -> list[str]:
            prefix = f"cr{run_id_for(job_dir)}-"
            return processes_of(job_dir) + sorted(name for name in namespaces() if name.startswith(prefix))

        yield BackendUnderTest(name, 2, None, ours)
    else:
        daemon = request.getfixturevalue("daemon")
        image = request.getfixturevalue("chainer_image")
        monkeypatch.setenv("DOCKER_HOST", daemon.host)

        def labelled(job_dir: Path) -> list[str]:
            label = f"label=container-runtime.job={job_dir.name}"
            containers = daemon.run("ps", "-a", "--filter", label, "--format", "{{.Names}}").stdout.split()
            networks = daemon.run("network", "ls", "--filter", label, "--format", "{{.Name}}").stdout.split()
            return containers + networks

        yield BackendUnderTest(name, 2, image, labelled)


def run_job(backend: BackendUnderTest, tmp_path: Path, script: str, *, job_name: str,
            control: JobControl | None = None) -> tuple[TrainingJobResult, str]:
    code = tmp_path / "code"
    code.mkdir(exist_ok=True)
    (code / "script.py").write_text(script)
    spec = TrainingJobSpec(
        # Every host runs the script itself: the Chainer image's adapter would otherwise start MPI ranks.
        entry_point="script.py", source_dir=code, hyperparameters={"sagemaker_use_mpi": False}, channels=(),
        instance_count=backend.hosts,
        jobs_dir=tmp_path / "jobs", framework=GENERIC, job_name=job_name, backend=backend.name, image=backend.image,
        environment={"SM_STOP_GRACE_SECONDS": "20"},
    )
    console = io.StringIO()
    result = run_training_job(spec, console=console, control=control)
    return result, console.getvalue()


def hosts_of(backend: BackendUnderTest) -> list[str]:
    return [f"algo-{index}" for index in range(1, backend.hosts + 1)]


def test_hosts_run_train_with_their_output_relayed_and_logged(backend: BackendUnderTest, tmp_path: Path) -> None:
    result, console = run_job(backend, tmp_path, HELLO, job_name="hello")
    assert result.status == "Completed", console
    for host in hosts_of(backend):
        assert f"{host} | hello from {host}" in console.splitlines()
        assert f"hello from {host}\n" in (result.job_dir / "logs" / f"{host}.log").read_text()
        assert result.description["Hosts"][host]["ExitCode"] == 0
    assert backend.leftovers(result.job_dir) == []


def test_each_hosts_exit_status_is_reported_and_the_failing_one_named(
    backend: BackendUnderTest, tmp_path: Path
) -> None:
    result, console = run_job(backend, tmp_path, FAILS_ON_THE_LAST_HOST, job_name="fails")
    *others, last = hosts_of(backend)
    assert result.status == "Failed", console
    assert result.description["Hosts"][last]["ExitCode"] != 0
    assert all(result.description["Hosts"][host]["ExitCode"] == 0 for host in others)
    failure = (result.job_dir / "hosts" / last / "output" / "failure").read_text()
    assert result.description["FailureReason"] == f"{last}: " + " ".join(failure.split())
    assert backend.leftovers(result.job_dir) == []


def test_a_stop_request_reaches_every_script_as_sigterm(backend: BackendUnderTest, tmp_path: Path) -> None:
    training: set[str] = set()
    everyone_training = threading.Event()

    def on_line(host: str, line: str, now: float) -> None:
        if line.endswith("training"):
            training.add(host)
            if len(training) == backend.hosts:
                everyone_training.set()

    control = JobControl(on_line=on_line)
    outcome: list[tuple[TrainingJobResult, str]] = []
    runner = threading.Thread(target=lambda: outcome.append(run_job(backend, tmp_path, STOPPABLE,
                                                                    job_name="stoppable", control=control)))
    runner.start()
    assert everyone_training.wait(180), "the hosts never started training"
    stopped_at = time.monotonic()
    control.stop("the contract test stops it")
    runner.join(120)
    assert not runner.is_alive()
    result, console = outcome[0]
    assert time.monotonic() - stopped_at < 20, "the stop took the whole grace period: SIGTERM did not arrive"
    assert result.status == "Stopped", console
    assert result.description["FailureReason"] == "the contract test stops it"
    for host in hosts_of(backend):
        assert (result.job_dir / "hosts" / host / "model" / "stopped-by-sigterm").exists(), host
    assert backend.leftovers(result.job_dir) == []
