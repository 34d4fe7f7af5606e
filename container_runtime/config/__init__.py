"""Configuration of a training run.

`load_config(environ)` reads `<base>/input/config/*.json` and the runtime's environment
variables once, validates them and returns a frozen `TrainingConfig`. Every bad input raises
`ConfigError` naming the file or variable and the key or value at fault. Nothing here runs at
import time, and nothing outside this package reads the config files.
"""

from container_runtime.config.loader import base_dir_from, load_config
from container_runtime.config.model import Channel, TrainingConfig
from container_runtime.config.paths import JobPaths

__all__ = ["Channel", "JobPaths", "TrainingConfig", "base_dir_from", "load_config"]
