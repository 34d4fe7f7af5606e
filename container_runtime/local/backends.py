"""Where local mode runs `train` and `serve`: on this machine, or in containers of a Docker image."""

from __future__ import annotations

from container_runtime.local.errors import LocalModeError

LOCAL = "local"
DOCKER = "docker"
BACKENDS = (LOCAL, DOCKER)


def check_backend(backend: str, image: str | None) -> None:
    """A known backend, and an image exactly when it is Docker's."""
    if backend not in BACKENDS:
        raise LocalModeError(f"backend {backend!r}: choose {' or '.join(BACKENDS)}")
    if backend == DOCKER and not image:
        raise LocalModeError("--backend docker needs --image (e.g. container-runtime/chainer:cpu)")
    if backend == LOCAL and image:
        raise LocalModeError(f"image {image!r} applies only to --backend docker")
