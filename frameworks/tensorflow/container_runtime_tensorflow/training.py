"""The TensorFlow training adapter: script mode, parameter servers, multi-worker mirrored, MPI.

- `model_dir` (which the SageMaker SDK always sends) reaches the script as `--model_dir`; in a
  tuning job a `model_dir` outside the base dir becomes `<model_dir>/<job name>/model`, so
  parallel trials never share checkpoints.
- `sagemaker_parameter_server_enabled` with more than one host: TF_CONFIG as the SageMaker
  toolkit builds it, and a CPU-only parameter server on every host beside the script, stopped
  when the job ends on this host whatever the outcome (workers first wait, bounded, for the
  master to finish).
- `sagemaker_multi_worker_mirrored_strategy_enabled`: TF_CONFIG with every host a worker.
- `sagemaker_mpi_enabled`: the generic MPI launch.
- At most one of these three may be true. `load_config` reads them (the `tensorflow` table of
  `container_runtime.config.distribution`) into the config's `Distribution`, so a bad value
  fails the job before the code is downloaded or its requirements installed.
- Legacy mode: a script that defines `model_fn` and `train_input_fn` (TensorFlow 1's framework
  mode) runs through `container_runtime_tensorflow.legacy.runner` with a global step; its checkpoints go
  to `checkpoint_path` (a tuning job's to `<checkpoint_path>/<job name>/checkpoints`), else to the
  model dir, and a remote `checkpoint_path` falls back to the local checkpoint dir.
After training, a warning when `SM_MODEL_DIR` holds no servable SavedModel.
"""

from __future__ import annotations

import socket
import sys
import time
from pathlib import Path
from types import MappingProxyType

from container_runtime.config.distribution import require_framework
from container_runtime.job import TrainingJob, run_entry_point
from container_runtime.launch.mpi import run_mpi
from container_runtime.log import get_logger
from container_runtime.process import LineRelay, ProcessGroup
from container_runtime.usercode.entry_point import EntryPoint
from container_runtime.usercode.inspection import top_level_names
from container_runtime_tensorflow.model_check import servability_problem
from container_runtime_tensorflow.tf_config import (
    WORKER_PORT,
    multi_worker_mirrored_tf_config,
    parameter_server_tf_config,
)

logger = get_logger(__name__)
PARAMETER_SERVER_STOP_SECONDS = 10.0
#: The name this adapter is registered under (setup.py, `container_runtime.training_adapters`).
FRAMEWORK = "tensorflow"


def run(job: TrainingJob) -> None:
    require_framework(job.config.distribution, FRAMEWORK, job.config.framework_module)
    job = with_tuning_model_dir(job)
    config = job.config
    distribution = config.distribution
    hosts = distribution.hosts
    entry = job.prepare_code()
    if is_legacy_script(entry.path):
        _run_legacy(job, entry)
    elif config.current_host not in hosts:
        # A host outside the distribution instance groups runs the script on its own.
        run_entry_point(job, entry=entry)
    elif distribution.kind == "mpi":
        run_mpi(job, entry)
    elif distribution.kind == "parameter_server":
        _run_with_parameter_servers(job, hosts, entry)
    elif distribution.kind == "multi_worker_mirrored":
        tf_config = multi_worker_mirrored_tf_config(hosts, config.current_host)
        logger.info("Running distributed training with the multi-worker mirrored strategy")
        run_entry_point(job, {"TF_CONFIG": tf_config}, entry)
    else:
        run_entry_point(job, entry=entry)
    problem = servability_problem(config.paths.model)
    if problem:
        logger.warning("%s", problem)


def is_legacy_script(path: Path) -> bool:
    """TensorFlow 1 framework-mode scripts define model_fn (or keras_model_fn) and train_input_fn."""
    if path.suffix != ".py" or not path.is_file():
        return False
    names = top_level_names(path)
    return "train_input_fn" in names and bool(names & {"model_fn", "keras_model_fn"})


def legacy_checkpoint_dir(
    checkpoint_path: object, *, model_dir: Path, local_checkpoints: Path, tuning_job_name: str | None
) -> Path:
    """Where a legacy job checkpoints (see the module docstring)."""
    if not isinstance(checkpoint_path, str) or not checkpoint_path:
        return model_dir
    if "://" in checkpoint_path:
        return local_checkpoints
    path = Path(checkpoint_path)
    if tuning_job_name and not (path.parent.name == tuning_job_name and path.name == "checkpoints"):
        path = path / tuning_job_name / "checkpoints"
    return path


def _run_legacy(job: TrainingJob, entry: EntryPoint) -> None:
    config = job.config
    requested = config.hyperparameters.get("checkpoint_path")
    tuning = "_tuning_objective_metric" in config.reserved_params
    checkpoint_dir = legacy_checkpoint_dir(
        requested,
        model_dir=config.paths.model,
        local_checkpoints=config.checkpoint_dir,
        tuning_job_name=(config.training_job_name or config.job_name or None) if tuning else None,
    )
    if isinstance(requested, str) and "://" in requested:
        logger.warning("checkpoint_path %s is remote: legacy checkpoints go to %s", requested, checkpoint_dir)
    command = [
        job.python,
        "-m",
        "container_runtime_tensorflow.legacy.runner",
        entry.name,
        "--checkpoint-dir",
        str(checkpoint_dir),
    ]
    logger.info(
        "Legacy TensorFlow script %s: training with a global step, checkpoints in %s", entry.name, checkpoint_dir
    )
    job.run_checked(command, env=job.child_env(job.user_args()))


def tuning_model_dir(model_dir: str, job_name: str, base_dir: str) -> str:
    """`<model_dir>/<job name>/model` unless the dir is inside the job's base dir."""
    if model_dir.startswith(base_dir) or not job_name:
        return model_dir
    return f"{model_dir.rstrip('/')}/{job_name}/model"


def with_tuning_model_dir(job: TrainingJob) -> TrainingJob:
    config = job.config
    model_dir = config.hyperparameters.get("model_dir")
    if "_tuning_objective_metric" not in config.reserved_params or not isinstance(model_dir, str):
        return job
    job_name = config.training_job_name or config.job_name
    rewritten = tuning_model_dir(model_dir, job_name, str(config.paths.base))
    if rewritten == model_dir:
        return job
    logger.info("Tuning job: model_dir %s becomes %s", model_dir, rewritten)
    hyperparameters = MappingProxyType({**config.hyperparameters, "model_dir": rewritten})
    return job._replace(config=config._replace(hyperparameters=hyperparameters))


def _run_with_parameter_servers(job: TrainingJob, hosts: tuple[str, ...], entry: EntryPoint) -> None:
    config = job.config
    current = config.current_host
    environ = dict(config.inherited_environ)
    environ.update(TF_CONFIG=parameter_server_tf_config(hosts, current, ps_task=True), CUDA_VISIBLE_DEVICES="")
    # Its output is relayed line by line, labelled, beside the script's.
    server = ProcessGroup.start(
        [job.python, "-m", "container_runtime_tensorflow.parameter_server"],
        label="parameter server",
        output=LineRelay(sys.stderr.buffer, "parameter server"),
        env=environ,
        cwd=config.paths.base if config.paths.base.is_dir() else None,
    )
    logger.info("Started the parameter server for %s (pid %d)", current, server.pid)
    # The supervisor must neither end it as a leftover of the script nor reap it.
    job = job._replace(policy=job.policy._replace(keep_pids=(*job.policy.keep_pids, server.pid)))
    try:
        run_entry_point(job, {"TF_CONFIG": parameter_server_tf_config(hosts, current)}, entry)
        if current != hosts[0]:
            _wait_until_closed(hosts[0], WORKER_PORT, config.host_wait_seconds)
    finally:
        _stop(server)


def _wait_until_closed(host: str, port: int, timeout: float) -> None:
    """Workers keep their parameter server up until the master's server goes away (bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                pass
        except OSError:
            return
        time.sleep(1.0)
    logger.warning(
        "The master %s:%d still answers after %.0f s: stopping this host's parameter server", host, port, timeout
    )


def _stop(server: ProcessGroup) -> None:
    returncode = server.wait(0)
    if returncode is not None:
        logger.warning("The parameter server had already exited with %s", returncode)
        return
    server.stop(PARAMETER_SERVER_STOP_SECONDS)
    logger.info("Stopped the parameter server (pid %d)", server.pid)
