"""Configuration of a training run.

`load_config(environ)` reads `<base>/input/config/*.json` and the runtime's environment
variables once, validates them and returns a frozen `TrainingConfig`. Every bad input raises
`ConfigError` naming the file or variable and the key or value at fault: among them every value
that reaches a child process as an argument or an environment variable, and the job's
`Distribution` (MPI, parameter servers, ...), so nothing fails on them once work has started.
Nothing here runs at import time, and nothing outside this package reads the config files.
"""

from container_runtime.config.distribution import Distribution
from container_runtime.config.loader import base_dir_from, load_config
from container_runtime.config.model import Channel, TrainingConfig
from container_runtime.config.paths import JobPaths

__all__ = ["Channel", "Distribution", "JobPaths", "TrainingConfig", "base_dir_from", "load_config"]
