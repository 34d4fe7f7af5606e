"""`run_training`: the whole job, from the config to the status files and artifacts."""

from __future__ import annotations

import time

from container_runtime.config.model import TrainingConfig
from container_runtime.errors import ConfigError, JobFailure
from container_runtime.job.outcome import JobResult, JobState, JobStopped
from container_runtime.job.training_job import TrainingJob, run_entry_point
from container_runtime.log import get_logger
from container_runtime.training.artifacts_step import package_artifacts, written_since
from container_runtime.training.status import write_failure, write_success

logger = get_logger(__name__)


class FrameworkError(JobFailure):
    """An unexpected exception inside the runtime or a framework adapter."""

    def __init__(self, error: BaseException) -> None:
        super().__init__(f"{type(error).__name__}: {error}")
        self.error = error
        errno = getattr(error, "errno", None)
        self.exit_code = errno if isinstance(errno, int) and 0 < errno < 256 else 1

    def failure_text(self) -> str:
        import traceback

        trace = "".join(traceback.format_exception(self.error))
        return f"Framework Error: \n{trace}\n{self.error}"


def run_training(job: TrainingJob) -> JobResult:
    """Run the job, pack its artifacts, then write `success` or `failure` (in that order)."""
    config = job.config
    started = time.monotonic()
    # Slack for file systems with coarse timestamps: err on the side of keeping what the job wrote.
    started_at = time.time() - 2.0
    result = _run(job)
    elapsed = time.monotonic() - started
    if config.package_artifacts:
        problems = package_artifacts(config.paths, started_at)
        if problems and result.state is JobState.SUCCEEDED:
            result = JobResult(JobState.FAILED, _ArtifactError("; ".join(problems)))
    if result.failure is None and written_since(config.paths.failure_file, started_at):
        # The script reported a failure in output/failure but exited 0: believe the file.
        result = JobResult(JobState.FAILED, _ReportedFailure(config.paths.failure_file.read_text(errors="replace")))
    if result.failure is None:
        write_success(config.paths)
        logger.info("Training succeeded in %.1f s", elapsed)
    else:
        write_failure(config.paths, result.failure.failure_text())
        verb = "stopped" if result.state is JobState.STOPPED else "failed"
        logger.error("Training %s after %.1f s: %s", verb, elapsed, result.failure.one_line())
    return result


def make_contract_dirs(config: TrainingConfig) -> None:
    """The directories the SageMaker platform guarantees a script: made when a hand-made base dir,
    a volume or an SDK's mount lacks them, so `SM_MODEL_DIR` and friends always exist. The checkpoint
    dir only when checkpointing is configured (checkpointconfig.json), as the platform does."""
    paths = config.paths
    directories = [paths.model, paths.output_data, paths.output_intermediate]
    if paths.config_file("checkpointconfig.json").is_file():
        directories.append(config.checkpoint_dir)
    for directory in directories:
        try:
            directory.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            raise ConfigError(str(directory), f"cannot create it: {error.strerror or error}") from None


def _run(job: TrainingJob) -> JobResult:
    try:
        make_contract_dirs(job.config)
        if job.config.framework_module:
            from container_runtime.training.framework import run_framework

            run_framework(job, job.config.framework_module)
        elif job.config.distribution.kind == "mpi":
            from container_runtime.launch.mpi import run_mpi

            run_mpi(job)
        else:
            run_entry_point(job)
        job.raise_if_stopped()
    except JobStopped as stopped:
        return JobResult(JobState.STOPPED, stopped)
    except JobFailure as failure:
        return JobResult(JobState.FAILED, failure)
    except Exception as error:  # noqa: BLE001 - any other exception is a framework error
        return JobResult(JobState.FAILED, FrameworkError(error))
    return JobResult(JobState.SUCCEEDED)


class _ArtifactError(JobFailure):
    """The job succeeded but its artifacts could not be packed."""


class _ReportedFailure(JobFailure):
    """The user's script wrote `output/failure` itself (and perhaps exited 0)."""

    def __init__(self, reason: str) -> None:
        super().__init__(f"the script reported a failure in output/failure: {reason.strip()[:300]}")
