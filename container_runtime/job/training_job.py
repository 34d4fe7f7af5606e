"""`TrainingJob`: the building blocks a training run is made of.

The default flow (`run_entry_point`) and every framework adapter use the same blocks: put the
code in place, install its dependencies, render the arguments and environment, and run a
command under supervision, turning its outcome into success or a typed failure.
"""

from __future__ import annotations

import re
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import BinaryIO, NamedTuple

from container_runtime.config.cli_args import render_cli_args
from container_runtime.config.model import TrainingConfig
from container_runtime.environment import child_environment
from container_runtime.errors import (
    CalledProcessFailure,
    ConfigError,
    ExecuteUserScriptError,
    InstallModuleError,
    InstallRequirementsError,
)
from container_runtime.job.outcome import JobStopped, failure_for
from container_runtime.job.sdk_code import driver_entry_point, driver_install_command, expand_variables
from container_runtime.log import get_logger
from container_runtime.process import ProcessGroup, ProcessOutcome, SignalInbox, SupervisionPolicy, run_supervised
from container_runtime.usercode.entry_point import (
    EntryPoint,
    EntryPointKind,
    entry_point_command,
    resolve_entry_point,
)
from container_runtime.usercode.fetch import classify_source, prepare_code_dir
from container_runtime.usercode.install import install_command

logger = get_logger(__name__)
_SECRET_NAME = re.compile(r"pass(word)?|secret|token|api[_-]?key|access[_-]?key|credential", re.I)
REDACTED = "*****"


class TrainingJob(NamedTuple):
    """One run of `train`: the frozen config plus the means to run processes for it."""

    config: TrainingConfig
    inbox: SignalInbox
    policy: SupervisionPolicy
    stdout: BinaryIO | None
    stderr: BinaryIO | None
    python: str = sys.executable

    @property
    def code_dir(self) -> Path:
        return self.config.code_dir

    def prepare_code(self) -> EntryPoint:
        """Fetch the code, find the entry point and install what it needs."""
        driver = self.config.driver_source
        if driver is not None:
            self.raise_if_stopped()
            entry = driver_entry_point(driver)
            command = driver_install_command(driver, self.python)
            if command is not None:
                logger.info("Installing user dependencies: %s", shlex.join(command[1:]))
                self.run_checked(command, env=self.config.inherited_environ, error_class=InstallRequirementsError,
                                 label="pip")
            return entry
        if self.config.entry_point is None:
            raise ConfigError(
                "hyperparameters.json",
                "no entry point: set the hyperparameter 'sagemaker_program' or the variable SAGEMAKER_PROGRAM",
            )
        source = classify_source(self.config.submit_directory, self.code_dir)
        self.raise_if_stopped()
        prepare_code_dir(
            source,
            self.code_dir,
            force=self.config.force_code_extract,
            s3_endpoint_url=self.config.s3_endpoint_url,
            region=self.config.region,
        )
        entry = resolve_entry_point(self.code_dir, self.config.entry_point)
        self.install(entry)
        return entry

    def install(self, entry: EntryPoint) -> None:
        command = install_command(entry, self.python)
        if command is None:
            return
        error_class: type[CalledProcessFailure] = (
            InstallModuleError if entry.kind is EntryPointKind.PYTHON_PACKAGE else InstallRequirementsError
        )
        logger.info("Installing user dependencies: %s", shlex.join(command[1:]))
        self.run_checked(command, env=self.config.inherited_environ, error_class=error_class, label="pip")

    def user_args(self) -> list[str]:
        driver = self.config.driver_source
        if driver is not None and driver.command:
            return []  # an SDK v3 `command` gets no hyperparameter arguments, as under the SDK's driver
        return render_cli_args(self.config.hyperparameters, self.config.cli_style)

    def user_command(self, entry: EntryPoint, args: Sequence[str]) -> list[str]:
        driver = self.config.driver_source
        if driver is not None and driver.command:
            return expand_variables(driver.command, self.child_env(args))
        return entry_point_command(entry, args, self.python)

    def child_env(self, args: Sequence[str]) -> dict[str, str]:
        return child_environment(self.config, args)

    def raise_if_stopped(self) -> None:
        signum = self.inbox.first_stop_signal
        if signum is not None:
            raise JobStopped(signum)

    def run_checked(
        self,
        command: Sequence[str],
        *,
        env: Mapping[str, str],
        cwd: Path | None = None,
        error_class: type[CalledProcessFailure] = ExecuteUserScriptError,
        on_start: Callable[[ProcessGroup], None] | None = None,
        label: str = "the training script",
    ) -> ProcessOutcome:
        """Run `command` under supervision; raise the matching failure unless it succeeded.

        `label` names the process in the supervisor's log lines.
        """
        self.raise_if_stopped()
        try:
            outcome = run_supervised(
                command,
                cwd=cwd or self.code_dir,
                env=env,
                inbox=self.inbox,
                policy=self.policy._replace(label=label),
                stdout_sink=self.stdout,
                stderr_sink=self.stderr,
                on_start=on_start,
            )
        except OSError as error:
            raise error_class(command, 127 if isinstance(error, FileNotFoundError) else 126, str(error)) from error
        failure = failure_for(outcome, command, error_class)
        if failure is not None:
            raise failure
        return outcome

    def redacted(self, command: Sequence[str]) -> str:
        """The command for the log, with values of secret-looking hyperparameters hidden."""
        secrets = {
            str(value)
            for name, value in self.config.hyperparameters.items()
            if _SECRET_NAME.search(name) and value not in (None, "")
        }
        return shlex.join(REDACTED if part in secrets else part for part in command)


def run_entry_point(
    job: TrainingJob, extra_env: Mapping[str, str] | None = None, entry: EntryPoint | None = None
) -> None:
    """The default flow: run the user's entry point once on this host (with `extra_env` added).

    Pass `entry` when the code was already prepared, so it is not fetched and installed twice.
    """
    entry = entry or job.prepare_code()
    args = job.user_args()
    command = job.user_command(entry, args)
    env = job.child_env(args)
    env.update(extra_env or {})
    for name, value in sorted((extra_env or {}).items()):
        logger.info("%s=%s", name, value)
    logger.info("Running %s: %s", entry.kind.value, job.redacted(command))
    job.run_checked(command, env=env, error_class=ExecuteUserScriptError)
