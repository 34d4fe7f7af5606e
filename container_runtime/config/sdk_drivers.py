"""Jobs whose code arrives the SageMaker SDK v3 way: an `sm_drivers` channel and a `code` channel.

SDK v3's `ModelTrainer` with `source_code` sends the code as the channel `code`
(`<base>/input/data/code`) and describes how to run it in `sm_drivers/sourcecode.json`
(`entry_script` or `command`, `requirements`, `source_dir`) and `sm_drivers/distributed.json`
(an `MPI` or `Torchrun` config, `{}` for none). The SDK's own `sm_train.sh` would run it
without signal forwarding, through `eval` and with its own failure text; `train` reads the two
files instead and runs the code as it runs any other job (see README, "SDK v3 jobs"). Every bad
value is a `ConfigError` naming the file and key.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

from container_runtime.config.exec_strings import check_exec_string
from container_runtime.config.files import read_json_object
from container_runtime.config.names import validate_entry_point
from container_runtime.config.paths import JobPaths
from container_runtime.errors import ConfigError

DRIVERS_CHANNEL = "sm_drivers"
CODE_CHANNEL = "code"
SOURCE_CODE_FILE = "sourcecode.json"
DISTRIBUTED_FILE = "distributed.json"
#: Words of a `command` that only a shell gives a meaning; `train` runs argv, never a shell.
_SHELL_WORDS = frozenset({"&&", "||", "|", ";", "&", ">", ">>", "<", "2>", "2>&1", "<<"})
#: Substitutions only a shell performs; `$NAME` and `${NAME}` are expanded by `train` itself.
_SHELL_CHARACTERS = ("`", "$(")


class DriverSource(NamedTuple):
    """What `sourcecode.json` and `distributed.json` ask for, validated."""

    #: `<base>/input/data/code`: the code dir of the job (`SM_SOURCE_DIR`).
    code_dir: Path
    #: A `.py` or `.sh` path relative to the code dir; None when `command` is given.
    entry_script: str | None
    #: `command` split into argv (never run through a shell); empty when `entry_script` runs.
    command: tuple[str, ...]
    #: A requirements file relative to the code dir, installed with pip before the code runs.
    requirements: str | None
    #: The name of a `.tar.gz` in the code dir to unpack there first (`source_dir` was an archive).
    archive: str | None
    #: The `distributed.json` document; None when it is absent or `{}`.
    distributed: Mapping[str, Any] | None

    @property
    def distribution_kind(self) -> str | None:
        """`mpi` or `torchrun` from the fields of the SDK's config classes; None without one."""
        if self.distributed is None:
            return None
        if "mpi_additional_options" in self.distributed or self.distributed.get("_type") == "mpi":
            return "mpi"
        if "smp" in self.distributed or self.distributed.get("_type") == "torchrun":
            return "torchrun"
        return str(self.distributed.get("_type", "unknown"))


def load_driver_source(paths: JobPaths) -> DriverSource | None:
    """Read the `sm_drivers` channel; None when it holds no `sourcecode.json`."""
    drivers = paths.channel(DRIVERS_CHANNEL)
    source_file = drivers / SOURCE_CODE_FILE
    raw = read_json_object(source_file)
    if raw is None:
        return None
    where = str(source_file)
    entry_script = _string(raw, "entry_script", where)
    command_text = _string(raw, "command", where)
    if command_text is None and entry_script is None:
        raise ConfigError(where, "neither 'entry_script' nor 'command' is set: nothing to run")
    command: tuple[str, ...] = ()
    if command_text is not None:
        # As the SDK does: `command` wins over `entry_script`.
        command = _split_command(command_text, where)
        entry_script = None
    elif entry_script is not None:
        validate_entry_point(entry_script, source=f"{where} key 'entry_script'")
        if not entry_script.endswith((".py", ".sh")):
            raise ConfigError(where, f"key 'entry_script': {entry_script!r} is neither a .py nor a .sh script")
    requirements = _string(raw, "requirements", where)
    if requirements == "auto":
        raise ConfigError(where, "key 'requirements': 'auto' (JumpStart's) is not supported: name the file")
    if requirements is not None:
        validate_entry_point(requirements, source=f"{where} key 'requirements'")
    source_dir = _string(raw, "source_dir", where)
    archive = Path(source_dir).name if source_dir and source_dir.endswith(".tar.gz") else None
    distributed_file = drivers / DISTRIBUTED_FILE
    distributed = read_json_object(distributed_file) or None
    driver = DriverSource(
        code_dir=paths.channel(CODE_CHANNEL),
        entry_script=entry_script,
        command=command,
        requirements=requirements,
        archive=archive,
        distributed=MappingProxyType(distributed) if distributed else None,
    )
    kind = driver.distribution_kind
    if kind is not None and kind != "mpi" and not command:
        raise ConfigError(
            str(distributed_file),
            f"distribution {kind!r} is not supported by this image's runtime (it runs MPI jobs): "
            "use MPI, or no distribution",
        )
    return driver


def mpi_settings(driver: DriverSource) -> tuple[int | None, tuple[str, ...]]:
    """`process_count_per_node` (None for the default) and `mpi_additional_options` of an MPI config."""
    document = driver.distributed or {}
    where = str(driver.code_dir.parent / DRIVERS_CHANNEL / DISTRIBUTED_FILE)
    count = document.get("process_count_per_node")
    if count is not None and (not isinstance(count, int) or isinstance(count, bool) or count < 1):
        raise ConfigError(where, f"key 'process_count_per_node': expected a whole number >= 1, got {count!r}")
    options = document.get("mpi_additional_options") or []
    if not isinstance(options, list) or not all(isinstance(option, str) for option in options):
        raise ConfigError(where, f"key 'mpi_additional_options': expected a list of strings, got {options!r}")
    checked = tuple(check_exec_string(option, source=where, what="key 'mpi_additional_options'") for option in options)
    return count, checked


def _string(raw: Mapping[str, Any], key: str, where: str) -> str | None:
    value = raw.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ConfigError(where, f"key {key!r}: expected a string, got {value!r}")
    return check_exec_string(value, source=where, what=f"key {key!r}")


def _split_command(text: str, where: str) -> tuple[str, ...]:
    try:
        words = shlex.split(text)
    except ValueError as error:
        raise ConfigError(where, f"key 'command': cannot split {text!r} into words: {error}") from error
    if not words:
        raise ConfigError(where, "key 'command': is blank")
    for word in words:
        if word in _SHELL_WORDS or any(character in word for character in _SHELL_CHARACTERS):
            raise ConfigError(
                where,
                f"key 'command': {word!r} needs a shell, and train runs the command without one: "
                "put the shell code in a .sh script and name that as the entry script",
            )
    return tuple(words)
