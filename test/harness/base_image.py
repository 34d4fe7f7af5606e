"""The base images the framework images are built on in tests: Debian bookworm, with and without Python.

There is no registry to pull `python:3.11-slim-bookworm` from, so the suite makes its own base:
`debootstrap --variant=minbase --include=python3 bookworm` (about a minute and a half), packed
into a tarball and `docker import`ed. The tarball is cached between runs under
`$CONTAINER_RUNTIME_TEST_CACHE` (default `/var/cache/container-runtime-tests`), named after a
hash of the recipe, so changing the recipe makes a new one; an image the daemon already has
under that name is used as it is. The CPU images' base is deliberately not the python:slim
image (the Dockerfile must work from any Debian-like base that has python3); the GPU variants
are built on a base without Python, as the CUDA runtime images are, which no registry here serves.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from harness.docker_daemon import DockerDaemon, cache_dir, docker_cli, unmount_below

DEBOOTSTRAP_TIMEOUT_S = 900
#: What Debian's own images set; an imported tarball has no environment at all.
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: Left out of the tarball: the .debs debootstrap downloaded and apt's lists (the images run
#: `apt-get update` anyway), which halve its size.
TRIMMED = ("var/cache/apt/archives", "var/lib/apt/lists")


@dataclass(frozen=True)
class Recipe:
    """How one base root fs is made; its hash names the cached tarball and the image."""

    name: str
    include: tuple[str, ...]
    suite: str = "bookworm"
    variant: str = "minbase"
    mirror: str = "http://deb.debian.org/debian"
    #: Bump to remake the cached tarball after changing how the root fs is made or trimmed.
    revision: int = 1

    @property
    def key(self) -> str:
        return hashlib.sha256(json.dumps(asdict(self), sort_keys=True).encode()).hexdigest()[:12]

    @property
    def image(self) -> str:
        return f"container-runtime-test/{self.name}:{self.suite}-{self.key}"

    @property
    def tarball(self) -> Path:
        return cache_dir() / f"{self.name}-{self.suite}-{self.key}.tar"


#: Debian with python3 from apt: the CPU images' test base (not python:slim, on purpose).
DEBIAN_PYTHON = Recipe("debian-python", ("python3",))
#: Debian without Python, like the CUDA runtime images the GPU variants start from.
DEBIAN_BARE = Recipe("debian-bare", ())


def ensure_base_image(daemon: DockerDaemon, recipe: Recipe = DEBIAN_PYTHON) -> str:
    """The base image's name, importing it from the cached tarball (made first if missing) when needed."""
    name = recipe.image
    if daemon.run("image", "inspect", name, check=False).returncode == 0:
        return name
    tarball = ensure_tarball(recipe)
    with tarball.open("rb") as stream:
        result = subprocess.run([docker_cli(), "import", "--change", f"ENV PATH={DEFAULT_PATH}", "-", name],
                                stdin=stream, env=daemon.environment, capture_output=True, text=True, timeout=300,
                                check=False)
    if result.returncode != 0:
        raise RuntimeError(f"docker import {tarball} failed: {result.stderr.strip()}")
    return name


def ensure_tarball(recipe: Recipe) -> Path:
    """The cached root fs tarball, made by debootstrap when absent (one maker at a time: a lock)."""
    tarball = recipe.tarball
    tarball.parent.mkdir(parents=True, exist_ok=True)
    with _locked(tarball.parent / ".lock"):
        if tarball.is_file():
            return tarball
        with tempfile.TemporaryDirectory(prefix="rootfs-", dir=tarball.parent) as work:
            rootfs = Path(work) / "rootfs"
            _debootstrap(recipe, rootfs)
            for path in TRIMMED:
                for entry in (rootfs / path).glob("*"):
                    if entry.is_file():
                        entry.unlink()
            partial = tarball.with_suffix(".partial")
            subprocess.run(["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(partial), "."],
                           check=True, capture_output=True, timeout=300)
            os.replace(partial, tarball)
        for stale in tarball.parent.glob(f"{recipe.name}-*.tar"):  # an older recipe's: never used again
            if stale != tarball:
                stale.unlink()
    return tarball


def _debootstrap(recipe: Recipe, rootfs: Path) -> None:
    command = [
        shutil.which("debootstrap") or "debootstrap",
        f"--variant={recipe.variant}",
        *([f"--include={','.join(recipe.include)}"] if recipe.include else []),
        recipe.suite,
        str(rootfs),
        recipe.mirror,
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=DEBOOTSTRAP_TIMEOUT_S, check=False)
    finally:
        unmount_below(rootfs)  # a failed debootstrap can leave /proc or /sys mounted in the root fs
    if result.returncode != 0:
        tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-5:])
        raise RuntimeError(f"debootstrap failed ({result.returncode}): {tail}")


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    with path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)

