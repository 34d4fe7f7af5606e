"""Turning hyperparameters into the user script's command-line arguments.

Two styles, named after the SageMaker SDK generations that use them. `contract` (default; SDK v2's
framework estimators through the training toolkit) is that toolkit's rendering, kept exactly:
sorted keys, `-k` for one-letter names and `--key` otherwise, Python `str()` values, dicts as
`k=v,...`, None as an empty argument. `json` (framework parameter `sagemaker_cli_style=json`; the
default for SDK v3 jobs, `config.sdk_drivers`) is v3's driver rendering: `--key` for every name,
the order of `hyperparameters.json`, strings raw and everything else JSON.

It lives in `config` because `load_config` renders the arguments once to refuse, before any
work starts, a hyperparameter no process could receive; `TrainingJob.user_args` renders them
again (an adapter may have rewritten a value) with the same rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal

from container_runtime.config.exec_strings import exec_string_problem
from container_runtime.errors import ConfigError

CliStyle = Literal["contract", "json"]


def render_cli_args(
    hyperparameters: Mapping[str, Any], style: CliStyle, *, source: str = "hyperparameters.json"
) -> list[str]:
    """Render `[name, value, name, value, ...]`; raises ConfigError for unrepresentable values."""
    if style == "contract":
        items = sorted(hyperparameters.items())
        render = _contract_value
        name = _option_name
    else:
        items = list(hyperparameters.items())
        render = _json_value
        name = _v3_option_name
    args: list[str] = []
    for key, value in items:
        rendered = [name(key), render(value)]
        for text in rendered:
            _check_representable(text, key, source)
        args.extend(rendered)
    return args


def _option_name(key: str) -> str:
    if not key:
        return ""
    return f"-{key}" if len(key) == 1 else f"--{key}"


def _v3_option_name(key: str) -> str:
    return f"--{key}"


def _contract_value(value: Any) -> str:
    if isinstance(value, dict):
        return ",".join(f"{key}={item}" for key, item in sorted(value.items()))
    if value is None:
        return ""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode("latin-1")
    return str(value)


def _json_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def _check_representable(text: str, key: str, source: str) -> None:
    """An argv element cannot hold NUL or characters the file system encoding rejects."""
    problem = exec_string_problem(text)
    if problem:
        raise ConfigError(source, f"hyperparameter {key!r}: value {text[:60]!r} {problem}")
