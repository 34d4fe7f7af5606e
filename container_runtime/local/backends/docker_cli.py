"""The docker command line, as local mode's Docker backend calls it.

Always an argument list, never a shell. Environment values never appear on docker's command
line (where `ps` would show them): a container gets `-e NAME` and the value comes from the
docker client's own environment. Every failure is one LocalModeError line quoting docker.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path

from container_runtime.local.backends.commands import clean_environment, run_client
from container_runtime.local.errors import LocalModeError

TIMEOUT_SECONDS = 120.0
#: Where a container sees the base dir (a job host's, an endpoint's), as on SageMaker.
CONTAINER_BASE_DIR = Path("/opt/ml")
#: Passed into containers when set here, besides the SageMaker variables and the user's own.
PASSED_THROUGH = (
    "S3_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
)
#: Docker's image reference grammar, loosely: [registry[:port]/]name[/name...][:tag][@digest], where a
#: registry is a first component with a dot or a port, or localhost; names are lower case.
IMAGE_REFERENCE = re.compile(
    r"^(?:(?:[a-zA-Z0-9-]+(?:\.[a-zA-Z0-9-]+)+(?::\d+)?|[a-zA-Z0-9-]+:\d+|localhost)/)?"
    r"[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[\w][\w.-]{0,127})?(?:@sha256:[0-9a-f]{64})?$"
)


def docker_executable() -> str:
    found = shutil.which("docker")
    if found is None:
        raise LocalModeError("--backend docker needs the docker command line on PATH")
    return found


def docker(*args: str, timeout: float = TIMEOUT_SECONDS, env: Mapping[str, str] | None = None,
           what: str | None = None) -> str:
    """Run `docker ARGS...`; its stdout, or a LocalModeError naming `what` failed and docker's reason."""
    return run_client([docker_executable(), *args], what=what or f"docker {args[0]}", engine="docker",
                      timeout=timeout, env=env)


def check_image(image: str) -> None:
    """The daemon answers and has `image`: checked before a job or endpoint creates anything."""
    if not IMAGE_REFERENCE.match(image):
        raise LocalModeError(f"image {image!r}: not a Docker image reference such as container-runtime/chainer:cpu")
    docker("version", "--format", "{{.Server.Version}}", what="--backend docker: no Docker daemon answers")
    try:
        docker("image", "inspect", "--format", "{{.Id}}", image)
    except LocalModeError:
        raise LocalModeError(
            f"image {image!r} is not on this Docker daemon: build it (python3 dockerfiles/build.py --list) or pull it"
        ) from None


def check_mountable(path: Path) -> None:
    """`docker run -v SOURCE:TARGET` splits on ':' (and a ',' confuses --mount): refuse such paths clearly."""
    if ":" in str(path) or "," in str(path):
        raise LocalModeError(f"{str(path)!r} cannot be mounted into a container: its path contains ':' or ','")


def environment_arguments(
    env: Mapping[str, str], explicit: Iterable[str] = ()
) -> tuple[list[str], dict[str, str]]:
    """(`-e NAME` arguments, the client's environment holding the values) for what a container gets:
    the SageMaker variables, the names the user set explicitly, and PASSED_THROUGH ones that are set."""
    explicit = set(explicit)
    names = sorted(
        name for name in env
        if name.startswith(("SM_", "SAGEMAKER_")) or name in explicit or name in PASSED_THROUGH
    )
    # The client's own settings (DOCKER_HOST, ...) must stay its own: those travel as NAME=VALUE.
    own = [name for name in names if name.startswith("DOCKER_")]
    arguments = [part for name in names for part in ("-e", f"{name}={env[name]}" if name in own else name)]
    client_environment = clean_environment({name: env[name] for name in names if name not in own})
    return arguments, client_environment
