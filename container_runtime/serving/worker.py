"""What each worker does after the fork: import the user module, pick handlers, load the model."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from container_runtime.errors import JobFailure
from container_runtime.log import get_logger
from container_runtime.serving.handlers import Handlers, default_handlers, import_user_module, resolve_handlers
from container_runtime.serving.health import FAILED, LOADING, WorkerHealth
from container_runtime.serving.metrics import serving_metrics
from container_runtime.serving.model_dir import UserCode
from container_runtime.serving.server import retire_this_worker
from container_runtime.serving.service import InferenceService
from container_runtime.serving.settings import ServingSettings
from container_runtime.serving.wsgi import InvocationApp

logger = get_logger(__name__)


def worker_app_factory(
    settings: ServingSettings, user_code: UserCode, health: WorkerHealth, *, batching: bool, metrics: bool
) -> Callable[[], Callable[..., Any]]:
    def build() -> Callable[..., Any]:
        handlers, problem = _handlers(settings, user_code)
        service = InferenceService(handlers, str(settings.model_dir), settings.default_accept, health)
        observed = serving_metrics() if metrics else None
        if observed is not None:
            service.on_load = observed.model_load.observe
        if batching:
            from container_runtime.serving.batching import Batcher  # asyncio's import, for batching workers only

            service.enable_batching(
                lambda owner: Batcher(
                    owner.predict_rows,
                    owner.predict_single,
                    max_batch_size=settings.max_batch_size if handlers.rowwise else 1,
                    max_delay_seconds=settings.max_batch_delay_seconds,
                    timeout_seconds=settings.timeout_seconds,
                    on_batch=observed.observe_batch if observed is not None else None,
                    on_wait=observed.queue_wait.observe if observed is not None else None,
                    on_stuck=lambda: _retire(health),
                    on_done=observed.batch_latency.observe if observed is not None else None,
                    on_call=observed.model_call.observe if observed is not None else None,
                )
            )
        if problem is None:
            service.start_loading()
        else:
            service.state, service.reason = FAILED, problem
            health.report(FAILED, problem)
        app = InvocationApp(
            service,
            health,
            max_payload_bytes=settings.max_payload_bytes,
            timeout_seconds=settings.timeout_seconds,
            max_concurrent_transforms=settings.workers,
            retire_worker=retire_this_worker,
            metrics=observed,
            model_name=settings.model_name,
            platform=settings.framework,
        )
        if not batching:
            return app
        from container_runtime.serving.asgi import AsgiApp  # batching workers speak ASGI (see `server`)

        return AsgiApp(app, service.batcher)

    return build


def _retire(health: WorkerHealth) -> None:
    """A model call is stuck: /ping stops counting this worker, which drains and exits."""
    health.report(LOADING, "replacing a worker whose model call outlived the timeout")
    retire_this_worker()


def _handlers(settings: ServingSettings, user_code: UserCode) -> tuple[Handlers, str | None]:
    """The handlers, and a reason when the user module could not be imported."""
    program = user_code.module_file.name if user_code.module_file else None
    defaults = default_handlers(settings.framework, allow_pickle=settings.allow_pickle, program=program)
    if str(user_code.code_dir) not in sys.path:
        sys.path.insert(0, str(user_code.code_dir))
    source = str(user_code.module_file or user_code.code_dir)
    module = None
    problem = None
    if user_code.module_file is not None:
        try:
            module = import_user_module(Path(user_code.module_file))
        except Exception as error:  # noqa: BLE001 - reported through /ping, the worker stays up
            problem = f"importing {user_code.module_file.name} failed: {type(error).__name__}: {error}"
            logger.error("%s", problem)
    try:
        return resolve_handlers(module, defaults, source), problem
    except JobFailure as error:
        return resolve_handlers(None, defaults, source), error.one_line()
