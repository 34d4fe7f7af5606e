"""What the user's process sees: its environment variables and its command-line arguments.

Pure functions of a `TrainingConfig`; nothing here reads or writes `os.environ` or files.
"""

from container_runtime.environment.child_env import child_environment
from container_runtime.environment.cli_args import render_cli_args
from container_runtime.environment.sm_variables import sm_variables, training_environment

__all__ = ["child_environment", "render_cli_args", "sm_variables", "training_environment"]
