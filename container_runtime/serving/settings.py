"""`serve`'s settings, read once from the environment with errors naming the variable."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import NamedTuple

from container_runtime.config.loader import base_dir_from
from container_runtime.config.names import validate_entry_point
from container_runtime.config.settings import env_flag, env_number, parse_log_level
from container_runtime.errors import ConfigError
from container_runtime.serving import content_types as ct

MIB = 1024 * 1024
MODEL_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")


class ServingSettings(NamedTuple):
    base_dir: Path
    port: int
    workers: int
    timeout_seconds: float
    default_accept: str
    max_payload_bytes: int
    program: str | None
    submit_directory: str | None
    framework: str
    allow_pickle: bool
    log_level: int
    #: Requests combined into one predict call at most; 1 turns batching off.
    max_batch_size: int = 1
    #: How long the oldest queued request may wait for requests still being decoded.
    max_batch_delay_seconds: float = 0.005
    #: The model's name on the Open Inference Protocol routes.
    model_name: str = "model"

    @property
    def model_dir(self) -> Path:
        return self.base_dir / "model"

    @property
    def default_code_dir(self) -> Path:
        return self.base_dir / "code"


def load_serving_settings(environ: Mapping[str, str]) -> ServingSettings:
    program = environ.get("SAGEMAKER_PROGRAM") or None
    if program is not None:
        validate_entry_point(program, source="environment variable SAGEMAKER_PROGRAM")
    default_accept = ct.media_type(environ.get("SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT")) or ct.JSON
    return ServingSettings(
        base_dir=base_dir_from(environ),
        port=_int(environ, "SAGEMAKER_BIND_TO_PORT", 8080, low=1, high=65535),
        workers=_int(environ, "SAGEMAKER_MODEL_SERVER_WORKERS", os.cpu_count() or 1, low=1, high=512),
        timeout_seconds=env_number(environ, "SAGEMAKER_MODEL_SERVER_TIMEOUT", 60.0, positive=True, unit=" of seconds"),
        default_accept=default_accept,
        max_payload_bytes=int(
            env_number(environ, "SAGEMAKER_MAX_PAYLOAD_IN_MB", 6.0, positive=True, unit=" of MiB") * MIB
        ),
        program=program,
        submit_directory=environ.get("SAGEMAKER_SUBMIT_DIRECTORY") or None,
        framework=(environ.get("SAGEMAKER_SERVING_FRAMEWORK") or "numpy").strip().lower(),
        allow_pickle=env_flag(environ, "SAGEMAKER_NPY_ALLOW_PICKLE", False),
        log_level=_log_level(environ),
        max_batch_size=_int(environ, "SAGEMAKER_MODEL_SERVER_MAX_BATCH_SIZE", 1, low=1, high=4096),
        max_batch_delay_seconds=env_number(
            environ, "SAGEMAKER_MODEL_SERVER_MAX_BATCH_DELAY_MS", 5.0, unit=" of milliseconds"
        ) / 1000,
        model_name=_model_name(environ),
    )


def _model_name(environ: Mapping[str, str]) -> str:
    raw = environ.get("SAGEMAKER_MODEL_NAME", "").strip()
    if not raw:
        return "model"
    if not MODEL_NAME.fullmatch(raw):
        raise ConfigError(
            "environment variable SAGEMAKER_MODEL_NAME",
            f"expected letters, digits, '_', '.' or '-' (at most 128), got {raw!r}",
        )
    return raw


def _int(environ: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = low - 1
    if not low <= value <= high:
        raise ConfigError(f"environment variable {name}", f"expected an integer from {low} to {high}, got {raw!r}")
    return value


def _log_level(environ: Mapping[str, str]) -> int:
    raw = environ.get("SAGEMAKER_CONTAINER_LOG_LEVEL", "").strip()
    if not raw:
        return 20
    variable = "environment variable SAGEMAKER_CONTAINER_LOG_LEVEL"
    return parse_log_level(raw, source=variable, key="log level")
