"""`train`: the container entry point for a training job.

Exit codes: 0 success; 1 a user or configuration error (the SageMaker contract); 128+N when
stopped by signal N (143 for SIGTERM, 130 for SIGINT); the errno of an unexpected OS error
inside the runtime, else 1.
"""

from __future__ import annotations

import os
import sys

from container_runtime import log
from container_runtime.config import JobPaths, TrainingConfig, base_dir_from, load_config
from container_runtime.errors import ConfigError
from container_runtime.job import TrainingJob
from container_runtime.process import SignalInbox, SupervisionPolicy, become_subreaper
from container_runtime.training import run_training
from container_runtime.training.status import write_failure

USAGE = """usage: train

Runs the training job configured under $SAGEMAKER_BASE_DIR (default /opt/ml): reads
input/config/*.json, runs the entry point, writes output/success or output/failure and packs
output/model.tar.gz and output/output.tar.gz. Settings come from those files and the
variables documented in the README; train takes no arguments."""


def main(argv: list[str] | None = None) -> int:
    """Run one training job as configured under the base dir; return the exit code."""
    arguments = sys.argv[1:] if argv is None else argv
    if arguments:
        return usage(arguments, USAGE)
    logger = log.get_logger("container_runtime.train")
    environ = dict(os.environ)
    with SignalInbox() as inbox:
        reaps_orphans = become_subreaper()
        try:
            config = load_config(environ)
        except ConfigError as error:
            logger.error("%s", error.one_line())
            write_failure(JobPaths(base_dir_from(environ)), error.failure_text())
            return error.exit_code
        log.configure(config.log_level)
        _log_start(config, logger)
        job = TrainingJob(
            config=config,
            inbox=inbox,
            policy=SupervisionPolicy(grace_seconds=config.stop_grace_seconds, reap_orphans=reaps_orphans),
            stdout=sys.stdout.buffer,
            stderr=sys.stderr.buffer,
        )
        return run_training(job).exit_code


def usage(arguments: list[str], text: str) -> int:
    """`--help` prints the usage; anything else is an error, never a silently ignored option."""
    if arguments[0] in ("-h", "--help"):
        print(text)
        return 0
    print(f"{text.splitlines()[0]}\nerror: unexpected argument {arguments[0]!r}", file=sys.stderr)
    return 2


def _log_start(config: TrainingConfig, logger: log.Logger) -> None:
    for notice in config.notices:
        logger.info("%s", notice)
    hosts = config.resource.hosts
    logger.info(
        "Training job %s on %s (%d host%s), base dir %s, %d CPU%s, %d GPU%s",
        config.job_name or config.training_job_name or "(unnamed)",
        config.current_host,
        len(hosts),
        "" if len(hosts) == 1 else "s",
        config.paths.base,
        config.num_cpus,
        "" if config.num_cpus == 1 else "s",
        config.num_gpus,
        "" if config.num_gpus == 1 else "s",
    )


if __name__ == "__main__":
    sys.exit(main())
