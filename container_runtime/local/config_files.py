"""The three config files a host's `train` reads, written the way the SageMaker SDK and platform do."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any


def encoded_hyperparameters(hyperparameters: Mapping[str, Any]) -> dict[str, str]:
    """Every value JSON-encoded, as the SDK sends them (3 -> "3", "adam" -> "\\"adam\\"")."""
    return {str(name): json.dumps(value) for name, value in hyperparameters.items()}


def write_host_config(
    base: Path,
    *,
    host: str | None,
    hosts: Sequence[str],
    hyperparameters: Mapping[str, Any],
    channels: Sequence[str],
    network_interface: str = "eth0",
    raw: Mapping[str, str] | None = None,
) -> None:
    """`raw` values are written as they are: the tuner's `_tuning_objective_metric` is not JSON.

    `host` None writes no `resourceconfig.json`: a cluster engine tells each host who it is.
    """
    config = base / "input" / "config"
    config.mkdir(parents=True, exist_ok=True)
    _write(config / "hyperparameters.json", {**encoded_hyperparameters(hyperparameters), **(raw or {})})
    if host is not None:
        _write(
            config / "resourceconfig.json",
            {"current_host": host, "hosts": list(hosts), "network_interface_name": network_interface},
        )
    _write(
        config / "inputdataconfig.json",
        {name: {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"} for name in channels},
    )


def _write(path: Path, content: Any) -> None:
    path.write_text(json.dumps(content, indent=2) + "\n")
