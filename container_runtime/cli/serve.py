"""`serve`: host the trained model under `<base>/model` over HTTP on SAGEMAKER_BIND_TO_PORT.

Exit codes: 0 after SIGTERM (in-flight requests finish first); 143 after a SIGTERM that came
before serving began; 1 for a configuration error or a failed `requirements.txt` install at
start-up; gunicorn's own codes otherwise. As PID 1 in a container, gunicorn's master reaps
every orphan that is reparented to it (it waits for any child), so `serve` needs no init.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import signal
import sys
import tempfile
from pathlib import Path
from types import FrameType

from container_runtime import log
from container_runtime.errors import JobFailure

USAGE = """usage: serve

Hosts the model under $SAGEMAKER_BASE_DIR/model (default /opt/ml/model) over HTTP on
$SAGEMAKER_BIND_TO_PORT (default 8080): GET /ping, POST /invocations, GET /execution-parameters,
GET /metrics (Prometheus) and the Open Inference Protocol's /v2 routes.
Settings come from the SAGEMAKER_* variables documented in the README; serve takes no arguments."""


def main(argv: list[str] | None = None) -> int:
    arguments = sys.argv[1:] if argv is None else argv
    if arguments:
        from container_runtime.cli.train import usage

        return usage(arguments, USAGE)
    logger = log.get_logger("container_runtime.serve")
    # gunicorn installs its own handlers once it runs; until then, a stop must still stop us.
    signal.signal(signal.SIGTERM, _exit_while_starting)
    try:
        from container_runtime.serving.settings import load_serving_settings

        settings = load_serving_settings(os.environ)
        log.configure(settings.log_level)
        from container_runtime.serving.threads import limit_math_threads

        # Before numpy loads here, so every forked worker inherits the limit.
        threads = limit_math_threads(os.environ, settings.workers)
        if threads is not None:
            logger.info("Math libraries use %d thread(s) per worker (set OMP_NUM_THREADS to change)", threads)
        from container_runtime.serving.handlers import (
            batching_applies,
            check_handler_combination,
            default_handlers,
            defined_handler_names,
        )
        from container_runtime.serving.metrics import MULTIPROC_VARIABLE
        from container_runtime.serving.model_dir import install_requirements, locate_user_code, unpack_model_archive

        defaults = default_handlers(settings.framework, allow_pickle=settings.allow_pickle)
        unpack_model_archive(settings.model_dir)
        user_code = locate_user_code(settings)
        names: frozenset[str] = frozenset()
        if user_code.module_file is not None:
            names = defined_handler_names(user_code.module_file)
            check_handler_combination(names, str(user_code.module_file))
        batching = False
        if settings.max_batch_size > 1:
            batching, why_not = batching_applies(names, defaults)
            if not batching:
                logger.warning("Batching is off: %s", why_not)
        install_requirements(user_code.code_dir)
        if importlib.util.find_spec("prometheus_client") is None:
            raise ModuleNotFoundError("no prometheus_client", name="prometheus_client")
        metrics_dir = Path(tempfile.mkdtemp(prefix="serve-metrics-"))
        # Before prometheus-client is imported anywhere, so every process writes its samples there.
        os.environ[MULTIPROC_VARIABLE] = str(metrics_dir)
    except JobFailure as error:
        logger.error("%s", error.one_line())
        return error.exit_code
    except ModuleNotFoundError as error:
        logger.error("serve needs %s: pip install 'container-runtime[serving]'", error.name)
        return 1

    from container_runtime.serving.health import WorkerHealth
    from container_runtime.serving.metrics import serving_metrics
    from container_runtime.serving.server import ModelServer
    from container_runtime.serving.worker import worker_app_factory

    health_dir = Path(tempfile.mkdtemp(prefix="serve-health-"))
    health = WorkerHealth(health_dir, settings.workers)
    logger.info(
        "Serving %s with %s (%s defaults) on port %d: %d workers, timeout %g s, payload limit %g MiB, %s",
        settings.model_dir,
        user_code.module_file.name if user_code.module_file else "no user module",
        settings.framework,
        settings.port,
        settings.workers,
        settings.timeout_seconds,
        settings.max_payload_bytes / (1024 * 1024),
        (
            f"batches of up to {settings.max_batch_size} requests "
            f"({settings.max_batch_delay_seconds * 1000:g} ms delay)"
            if batching
            else "no batching"
        ),
    )
    metrics = serving_metrics()
    forks = [0]

    def worker_started() -> None:
        forks[0] += 1
        if forks[0] > settings.workers:
            metrics.worker_restarts.inc()

    def worker_exited(pid: int) -> None:
        health.forget(pid)
        metrics.mark_worker_dead(pid)

    master_pid = os.getpid()
    try:
        ModelServer(
            worker_app_factory(settings, user_code, health, batching=batching, metrics=True),
            port=settings.port,
            workers=settings.workers,
            timeout_seconds=settings.timeout_seconds,
            on_worker_exit=worker_exited,
            on_worker_start=worker_started,
            batching=batching,
        ).run()
    finally:
        # Workers are forked inside run() and unwind through here when they exit.
        if os.getpid() == master_pid:
            shutil.rmtree(health_dir, ignore_errors=True)
            shutil.rmtree(metrics_dir, ignore_errors=True)
    return 0


def _exit_while_starting(signum: int, frame: FrameType | None) -> None:
    """SIGTERM before gunicorn runs (e.g. during a long requirements.txt install): exit 128+N.

    As PID 1 in a container, a signal without a handler is ignored, so without this `docker stop`
    would wait for its SIGKILL; the pip child is killed by subprocess.run as the exit unwinds.
    """
    raise SystemExit(128 + signum)


if __name__ == "__main__":
    sys.exit(main())
