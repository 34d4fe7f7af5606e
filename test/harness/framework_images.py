"""Building the framework images for the container tests, with dockerfiles/build.py's own variants.

The images are built FROM the suite's Debian base (harness.base_image) with `--network host`
(the test daemon's default network has no connectivity) under the tag prefix
`container-runtime-test`, so a developer's own `container-runtime/...` images are never replaced.
Every run calls `docker build`: Docker's layer cache makes it take seconds when nothing changed,
and a change to the runtime's code is always in the image under test.

Behind a TLS-intercepting proxy (as on CI machines, whose pip trusts an extra CA through
PIP_CERT), the build must trust that proxy too: the certificates this machine's bundle has and
pip's own copy of Mozilla's lacks are passed as the EXTRA_CA_CERTS build argument.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import time
from functools import cache
from pathlib import Path
from types import ModuleType

from harness.docker_daemon import DockerDaemon, docker_cli

REPO = Path(__file__).resolve().parents[2]
TAG_PREFIX = "container-runtime-test"
BUILD_TIMEOUT_S = 1500
PEM = re.compile(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", re.DOTALL)
#: Seconds each image took to build in this session, for the suite's summary.
build_seconds: dict[str, float] = {}


@cache
def build_script() -> ModuleType:
    """dockerfiles/build.py, imported by path: it is a script, not part of the package."""
    spec = importlib.util.spec_from_file_location("dockerfiles_build", REPO / "dockerfiles" / "build.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def build_image(daemon: DockerDaemon, variant_name: str, base_image: str, log_dir: Path) -> str:
    """Build one variant on `base_image`; returns its tag. The build's output goes to `log_dir`."""
    build = build_script()
    variant = build.VARIANTS[variant_name]
    command = build.build_command(variant, tag_prefix=TAG_PREFIX, base_image=base_image, network="host",
                                  docker=docker_cli(), extra_ca_certs=extra_ca_certificates())
    log_path = log_dir / f"build-{variant_name}.log"
    started = time.monotonic()
    with log_path.open("w") as log:
        result = subprocess.run(command, env=daemon.environment, stdout=log, stderr=subprocess.STDOUT,
                                timeout=BUILD_TIMEOUT_S, check=False)
    build_seconds[variant_name] = time.monotonic() - started
    if result.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-30:])
        raise RuntimeError(f"building {variant_name} failed ({result.returncode}); {log_path} ends:\n{tail}")
    return str(variant.tag(TAG_PREFIX))


def extra_ca_certificates() -> str:
    """The PEM certificates this machine's pip trusts beyond pip's bundled Mozilla set ("" if none)."""
    bundle = next((os.environ[name] for name in ("PIP_CERT", "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE")
                   if os.environ.get(name) and Path(os.environ[name]).is_file()), None)
    if bundle is None:
        return ""
    from pip._vendor import certifi

    def normal(block: str) -> str:
        return re.sub(r"\s+", "", block)

    known = {normal(block) for block in PEM.findall(Path(certifi.where()).read_text())}
    extra = [block for block in PEM.findall(Path(bundle).read_text()) if normal(block) not in known]
    return "\n".join(extra)

