"""Preparing what the workers load, once, in the master: the model dir and the user's code.

If `<base>/model` holds only `model.tar.gz`, it is unpacked safely in place. The user module
lives in `<model>/code` when that exists (as in the SageMaker inference toolkit), else in
`SAGEMAKER_SUBMIT_DIRECTORY` or `<base>/code`; its `requirements.txt` is installed once here,
not in every worker.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from container_runtime.errors import ConfigError, InstallRequirementsError
from container_runtime.log import get_logger
from container_runtime.serving.settings import ServingSettings
from container_runtime.usercode.install import pip_install_command

logger = get_logger(__name__)
DEFAULT_PROGRAM = "inference.py"


class UserCode(NamedTuple):
    code_dir: Path
    #: The module file to import, or None when only framework defaults serve.
    module_file: Path | None


def unpack_model_archive(model_dir: Path) -> None:
    entries = list(model_dir.iterdir()) if model_dir.is_dir() else []
    if [entry.name for entry in entries] != ["model.tar.gz"]:
        return
    from container_runtime.usercode.archive import extract_tar_safely

    count = extract_tar_safely(model_dir / "model.tar.gz", model_dir)
    logger.info("Unpacked %s (%d entries)", model_dir / "model.tar.gz", count)


def locate_user_code(settings: ServingSettings) -> UserCode:
    model_code = settings.model_dir / "code"
    if model_code.is_dir():
        code_dir = model_code
    elif settings.submit_directory:
        code_dir = _prepare_submit_directory(settings.submit_directory, settings.default_code_dir)
    else:
        code_dir = settings.default_code_dir
    if settings.program:
        module_file = code_dir / settings.program
        if not module_file.is_file() or module_file.suffix != ".py":
            raise ConfigError(
                "environment variable SAGEMAKER_PROGRAM", f"{settings.program!r} is not a Python file in {code_dir}"
            )
        return UserCode(code_dir, module_file)
    fallback = code_dir / DEFAULT_PROGRAM
    return UserCode(code_dir, fallback if fallback.is_file() else None)


def _prepare_submit_directory(submit_directory: str, default_code_dir: Path) -> Path:
    from container_runtime.usercode.fetch import classify_source, prepare_code_dir

    source = classify_source(submit_directory, default_code_dir)
    if source.kind == "directory":
        return Path(source.location)
    prepare_code_dir(source, default_code_dir, force=False, s3_endpoint_url=None, region=None)
    return default_code_dir


def install_requirements(code_dir: Path) -> None:
    requirements = code_dir / "requirements.txt"
    if not requirements.is_file():
        return
    command = pip_install_command(sys.executable, "-r", str(requirements))
    logger.info("Installing %s", requirements)
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stdout.write(completed.stdout)
    sys.stderr.write(completed.stderr)
    if completed.returncode != 0:
        tail = "\n".join(completed.stderr.strip().splitlines()[-20:])
        raise InstallRequirementsError(command, completed.returncode, tail)
