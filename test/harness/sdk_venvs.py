"""A venv per SageMaker SDK generation, for tests that drive our images with the real SDK.

SDK v2 (`sagemaker<3`) and v3 (`sagemaker-train`) cannot share a venv with each other, nor with
the runtime, so each gets its own, installed from its pinned file (`requirements/sdk-v2.txt`,
`sdk-v3.txt`, made by `requirements/update-sdk.sh`) with `--no-deps`: exactly the pinned set.
The venvs are cached under `$CONTAINER_RUNTIME_TEST_CACHE`, named by a hash of the pinned file
and this interpreter's version, so a changed pin makes a new one; a venv is only used once its
install finished (a `ready` marker), and one maker at a time holds a lock.

Tests run the SDK as a real client: a script in a subprocess with the venv's python and
`sdk_environment()`, which points Docker's clients at the test daemon and makes the run
offline: fake credentials and region, and every proxy variable aimed at a closed loopback port
(loopback excepted), so a call to AWS fails at once instead of leaving the machine.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path

from harness.docker_daemon import DockerDaemon, cache_dir

REPO = Path(__file__).resolve().parents[2]
INSTALL_TIMEOUT_S = 900
#: A loopback port nothing listens on: the "proxy" every non-loopback request is sent to.
CLOSED_PORT = 9


def requirements_file(generation: str) -> Path:
    return REPO / "requirements" / f"sdk-{generation}.txt"


def venv_dir(generation: str) -> Path:
    pinned = requirements_file(generation).read_bytes()
    key = hashlib.sha256(pinned + sys.version.encode()).hexdigest()[:12]
    return cache_dir() / f"sdk-{generation}-venv-{key}"


def ensure_sdk_venv(generation: str) -> Path:
    """The python of the generation's venv, made (and the SDK installed) when missing."""
    root = venv_dir(generation)
    python = root / "bin" / "python"
    ready = root / "ready"
    root.parent.mkdir(parents=True, exist_ok=True)
    with _locked(root.parent / f".sdk-{generation}.lock"):
        if ready.is_file():
            return python
        shutil.rmtree(root, ignore_errors=True)  # an install that did not finish
        subprocess.run([sys.executable, "-m", "venv", str(root)], check=True, capture_output=True, timeout=120)
        result = subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", "--no-input",
             "--no-deps", "-r", str(requirements_file(generation))],
            capture_output=True, text=True, timeout=INSTALL_TIMEOUT_S, check=False,
        )
        if result.returncode != 0:
            raise RuntimeError(f"installing SDK {generation} into {root} failed: {result.stderr[-3000:]}")
        ready.write_text(requirements_file(generation).name + "\n")
        for stale in root.parent.glob(f"sdk-{generation}-venv-*"):  # an older pin's: never used again
            if stale != root:
                shutil.rmtree(stale, ignore_errors=True)
    return python


def compose_skip_reason() -> str | None:
    """Why SDK v2 local mode cannot run here (it needs Docker Compose), or None."""
    if shutil.which("docker-compose"):
        return None
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "compose", "version"], capture_output=True, check=False).returncode == 0:
        return None
    return "SDK local mode needs Docker Compose: apt-get install docker-compose"


def sdk_environment(daemon: DockerDaemon, home: Path, extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The SDK process's environment: the test daemon, fake AWS identity, nothing reachable but loopback."""
    proxy = f"http://127.0.0.1:{CLOSED_PORT}"
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "DOCKER_HOST": daemon.host,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
        "HTTP_PROXY": proxy,
        "HTTPS_PROXY": proxy,
        "http_proxy": proxy,
        "https_proxy": proxy,
        "NO_PROXY": "localhost,127.0.0.1",
        "no_proxy": "localhost,127.0.0.1",
        "PYTHONUNBUFFERED": "1",
    }
    environment.update(extra or {})
    return environment


def run_sdk_script(python: Path, script: Path, argument: str, environment: Mapping[str, str],
                   timeout: float) -> subprocess.CompletedProcess[str]:
    """`python script argument` in the SDK's venv, output captured."""
    return subprocess.run([str(python), str(script), argument], env=dict(environment), capture_output=True,
                          text=True, timeout=timeout, check=False)


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)
