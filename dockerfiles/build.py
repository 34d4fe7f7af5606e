#!/usr/bin/env python3
"""Build the framework images: the four variants of dockerfiles/Dockerfile, from the repository root.

    python3 dockerfiles/build.py chainer-cpu tensorflow-cpu      # or: cpu, gpu, all
    python3 dockerfiles/build.py --list
    python3 dockerfiles/build.py cpu --base-image local/debian-python:bookworm --network host --tag-prefix test

Every variant is the same Dockerfile with different build arguments, so the images cannot drift
apart. Only the standard library is used, and docker is always called with an argument list.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

REPO = Path(__file__).resolve().parent.parent
DOCKERFILE = REPO / "dockerfiles" / "Dockerfile"
CPU_BASE_IMAGE = "python:3.11-slim-bookworm"
GPU_BASE_IMAGE = "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04"
#: CuPy 13 loads cuDNN 8 (libcudnn.so.8), which the CUDA 12.3+ images no longer carry.
CHAINER_GPU_BASE_IMAGE = "nvidia/cuda:12.2.2-cudnn8-runtime-ubuntu22.04"
DEFAULT_TAG_PREFIX = "container-runtime"
#: A build argument travels on docker's command line, where one argument may not exceed 128 KiB.
MAX_CERTIFICATES_BYTES = 64 * 1024


class Variant(NamedTuple):
    framework: str
    processor: str
    base_image: str
    gpu_packages: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return f"{self.framework}-{self.processor}"

    def tag(self, prefix: str = DEFAULT_TAG_PREFIX) -> str:
        return f"{prefix}/{self.framework}:{self.processor}"

    def build_arguments(self, base_image: str | None = None) -> dict[str, str]:
        return {
            "BASE_IMAGE": base_image or self.base_image,
            "FRAMEWORK": self.framework,
            "GPU_PACKAGES": " ".join(self.gpu_packages),
        }


VARIANTS = {
    variant.name: variant
    for variant in (
        Variant("chainer", "cpu", CPU_BASE_IMAGE),
        Variant("chainer", "gpu", CHAINER_GPU_BASE_IMAGE, ("cupy-cuda12x>=13,<14",)),
        Variant("tensorflow", "cpu", CPU_BASE_IMAGE),
        Variant("tensorflow", "gpu", GPU_BASE_IMAGE, ("tensorflow[and-cuda]>=2.16,<3",)),
    )
}
GROUPS = {
    "cpu": [name for name, variant in VARIANTS.items() if variant.processor == "cpu"],
    "gpu": [name for name, variant in VARIANTS.items() if variant.processor == "gpu"],
    "all": list(VARIANTS),
}


def build_command(
    variant: Variant, *, tag_prefix: str = DEFAULT_TAG_PREFIX, base_image: str | None = None,
    network: str | None = None, docker: str = "docker", extra_ca_certs: str = "",
) -> list[str]:
    """The `docker build` argv for one variant (the build context is the repository root)."""
    command = [docker, "build", "-f", str(DOCKERFILE), "-t", variant.tag(tag_prefix)]
    for name, value in variant.build_arguments(base_image).items():
        command += ["--build-arg", f"{name}={value}"]
    if extra_ca_certs:
        command += ["--build-arg", f"EXTRA_CA_CERTS={extra_ca_certs}"]
    if network:
        command += ["--network", network]
    return [*command, str(REPO)]


def read_certificates(path: Path) -> str:
    """The PEM certificates in `path`, checked: a build argument, so a few, not a whole bundle."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or error
        raise SystemExit(f"error: --extra-ca-certs {str(path)!r}: {reason}") from None
    if "-----BEGIN CERTIFICATE-----" not in text:
        raise SystemExit(f"error: --extra-ca-certs {str(path)!r} holds no PEM certificate")
    if len(text) > MAX_CERTIFICATES_BYTES:
        raise SystemExit(f"error: --extra-ca-certs {str(path)!r} is over {MAX_CERTIFICATES_BYTES // 1024} KiB: "
                         "give only the certificates missing from the usual bundle")
    return text.strip()


def selected(names: Sequence[str]) -> list[Variant]:
    chosen: list[str] = []
    for name in names:
        for member in GROUPS.get(name, [name]):
            if member not in chosen:
                chosen.append(member)
    return [VARIANTS[name] for name in chosen]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="build.py", description="Build the framework images.")
    parser.add_argument("variants", nargs="*", metavar="VARIANT",
                        help=f"one or more of {', '.join([*VARIANTS, *GROUPS])}")
    parser.add_argument("--list", action="store_true", help="print each variant's tag and build arguments")
    parser.add_argument("--base-image", help="replace every selected variant's default base image")
    parser.add_argument("--tag-prefix", default=DEFAULT_TAG_PREFIX, help="tags are PREFIX/FRAMEWORK:cpu|gpu")
    parser.add_argument("--network", help="network for RUN steps, e.g. host when the default one has no internet")
    parser.add_argument("--extra-ca-certs", type=Path, metavar="PEM_FILE",
                        help="certificates the build must trust besides the usual ones (a TLS-intercepting proxy)")
    parser.add_argument("--docker", default=os.environ.get("DOCKER", "docker"), help="the docker client")
    parser.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = parser.parse_args(argv)
    if args.list:
        for variant in VARIANTS.values():
            arguments = " ".join(f"{key}={shlex.quote(value)}" for key, value in variant.build_arguments().items())
            print(f"{variant.name:16} {variant.tag(args.tag_prefix):36} {arguments}")
        return 0
    if not args.variants:
        parser.error("name the variants to build (or --list)")
    unknown = [name for name in args.variants if name not in VARIANTS and name not in GROUPS]
    if unknown:
        parser.error(f"unknown variant {unknown[0]!r}: choose from {', '.join([*VARIANTS, *GROUPS])}")
    extra_ca_certs = read_certificates(args.extra_ca_certs) if args.extra_ca_certs else ""
    for variant in selected(args.variants):
        command = build_command(variant, tag_prefix=args.tag_prefix, base_image=args.base_image,
                                network=args.network, docker=args.docker, extra_ca_certs=extra_ca_certs)
        shown = [f"EXTRA_CA_CERTS=<{args.extra_ca_certs}>" if part.startswith("EXTRA_CA_CERTS=") else part
                 for part in command]
        print(f"+ {shlex.join(shown)}", flush=True)
        if args.dry_run:
            continue
        started = time.monotonic()
        try:
            result = subprocess.run(command, check=False)
        except FileNotFoundError:
            print(f"error: no docker client at {args.docker!r}", file=sys.stderr)
            return 1
        if result.returncode != 0:
            print(f"error: building {variant.tag(args.tag_prefix)} failed ({result.returncode})", file=sys.stderr)
            return 1
        print(f"built {variant.tag(args.tag_prefix)} in {time.monotonic() - started:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
