"""Batch transform jobs in local mode: a model's endpoint answers every record of a data set.

A job starts an endpoint for the model (as `deploy` does), asks it for its execution parameters,
splits each input file into records (`records`), packs them into requests by strategy and
payload limit, sends them concurrently (`sender`) and writes each file's answers, in input
order, to `<name>.out` under the output path (`output`), then stops the endpoint. The
modules, top-down: `options` (the checked settings), `inputs` (which files), `records`,
`sender`, `output`, `progress`, `job` (the flow) and `api` (the SDK-style `Transformer`).
Nothing is imported until it is used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from container_runtime.local.transform.api import Transformer
    from container_runtime.local.transform.job import TransformJobResult, TransformJobSpec, run_transform_job

__all__ = ["TransformJobResult", "TransformJobSpec", "Transformer", "run_transform_job"]


def __getattr__(name: str) -> Any:
    if name == "Transformer":
        from container_runtime.local.transform.api import Transformer

        return Transformer
    if name in ("TransformJobResult", "TransformJobSpec", "run_transform_job"):
        from container_runtime.local.transform import job

        return getattr(job, name)
    raise AttributeError(f"module 'container_runtime.local.transform' has no attribute {name!r}")
