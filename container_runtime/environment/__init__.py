"""What the user's process sees: its environment variables.

Pure functions of a `TrainingConfig`; nothing here reads or writes `os.environ` or files. Its
arguments are rendered by `container_runtime.config.cli_args`, which `load_config` uses to check
them before anything runs.
"""

from container_runtime.environment.child_env import child_environment
from container_runtime.environment.sm_variables import sm_variables, training_environment

__all__ = ["child_environment", "sm_variables", "training_environment"]
