"""Serving: `serve` hosts a trained model over HTTP, SageMaker-compatible.

Layers, top to bottom: `server` (gunicorn, pre-forked sync workers, or `asgi_worker`'s uvicorn
workers when batching, which reach the app through `asgi`) -> `wsgi` (routes, limits, timeouts,
the JSON error shapes; `oip` for the Open Inference Protocol's bodies) -> `service` (load once,
decode, predict, encode; no HTTP) -> `batching` (the loop gathers queued requests; one thread per
worker runs the model on them) -> `handlers` (the user's functions or a framework's defaults) ->
`codecs` (NPY, JSON, CSV, JSON Lines). `health` shares each worker's loading state so `/ping` is
honest for all of them; `metrics` is Prometheus across workers.

Importing this package is cheap (no numpy), so `serve` can size thread pools before numpy loads
and user modules can import `InvalidInput` freely.
"""

from container_runtime.serving.errors import InvalidInput, ServingError

__all__ = ["InvalidInput", "ServingError"]
