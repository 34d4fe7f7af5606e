"""Serving: `serve` hosts a trained model over HTTP, SageMaker-compatible.

Layers, top to bottom: `server` (gunicorn, pre-forked sync workers) -> `wsgi` (routes, limits,
timeouts, the JSON error shape) -> `service` (load once, decode, predict, encode; no HTTP) ->
`handlers` (the user's functions or a framework's defaults) -> `codecs` (NPY, JSON, CSV, JSON
Lines). `health` shares each worker's loading state so `/ping` is honest for all of them.

Importing this package is cheap (no numpy), so `serve` can size thread pools before numpy loads
and user modules can import `InvalidInput` freely.
"""

from container_runtime.serving.errors import InvalidInput, ServingError

__all__ = ["InvalidInput", "ServingError"]
