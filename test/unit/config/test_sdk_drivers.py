"""Reading the SDK v3 layout: `sm_drivers/sourcecode.json` and `distributed.json`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from container_runtime.config import load_config
from container_runtime.config.paths import JobPaths
from container_runtime.config.sdk_drivers import load_driver_source
from container_runtime.errors import ConfigError


def write_layout(base: Path, source_code: object, distributed: object = None) -> Path:
    drivers = base / "input" / "data" / "sm_drivers"
    drivers.mkdir(parents=True, exist_ok=True)
    (drivers / "sourcecode.json").write_text(json.dumps(source_code))
    if distributed is not None:
        (drivers / "distributed.json").write_text(json.dumps(distributed))
    return drivers


def test_no_drivers_channel_is_no_driver_source(tmp_path: Path) -> None:
    assert load_driver_source(JobPaths(tmp_path)) is None


def test_entry_script_with_requirements_and_archive(tmp_path: Path) -> None:
    write_layout(tmp_path, {"source_dir": "/src/code.tar.gz", "entry_script": "sub/train.py",
                            "requirements": "requirements.txt", "command": None, "ignore_patterns": [".git"]}, {})
    driver = load_driver_source(JobPaths(tmp_path))
    assert driver is not None
    assert driver.code_dir == tmp_path / "input" / "data" / "code"
    assert (driver.entry_script, driver.command, driver.requirements) == ("sub/train.py", (), "requirements.txt")
    assert driver.archive == "code.tar.gz"
    assert driver.distributed is None  # `{}` is the SDK's "no distribution"


def test_command_wins_and_is_split_without_a_shell(tmp_path: Path) -> None:
    write_layout(tmp_path, {"entry_script": "train.py", "command": "python train.py --name 'a b' --data $SM_CHANNEL_X"})
    driver = load_driver_source(JobPaths(tmp_path))
    assert driver is not None and driver.entry_script is None
    assert driver.command == ("python", "train.py", "--name", "a b", "--data", "$SM_CHANNEL_X")


@pytest.mark.parametrize(
    "source_code, distributed, message",
    [
        pytest.param({}, None, "neither 'entry_script' nor 'command'", id="nothing-to-run"),
        pytest.param({"entry_script": "train.ipynb"}, None, "neither a .py nor a .sh", id="other-script"),
        pytest.param({"entry_script": "../x.py"}, None, "invalid entry point", id="outside"),
        pytest.param({"entry_script": 3}, None, "key 'entry_script': expected a string", id="not-string"),
        pytest.param({"command": "python a.py && rm -r x"}, None, "'&&' needs a shell", id="shell-and"),
        pytest.param({"command": "echo $(id)"}, None, "needs a shell", id="substitution"),
        pytest.param({"command": "python 'a.py"}, None, "cannot split", id="unbalanced-quote"),
        pytest.param({"entry_script": "t.py"}, {"process_count_per_node": 2, "smp": None},
                     "distribution 'torchrun' is not supported", id="torchrun"),
        pytest.param([], None, "expected a JSON object", id="not-object"),
        pytest.param({"entry_script": "t.py", "requirements": "auto"}, None, "'auto' (JumpStart's) is not supported",
                     id="requirements-auto"),
    ],
)
def test_bad_layouts_name_the_file_and_key(
    tmp_path: Path, source_code: object, distributed: object, message: str
) -> None:
    drivers = write_layout(tmp_path, source_code, distributed)
    with pytest.raises(ConfigError) as raised:
        load_driver_source(JobPaths(tmp_path))
    assert message in str(raised.value)
    assert str(drivers) in str(raised.value)


def test_bad_mpi_process_count_is_refused_when_the_config_loads(tmp_path: Path) -> None:
    write_layout(tmp_path, {"entry_script": "t.py"}, {"process_count_per_node": 0, "mpi_additional_options": None})
    with pytest.raises(ConfigError, match="'process_count_per_node': expected a whole number >= 1, got 0"):
        load_config({"SAGEMAKER_BASE_DIR": str(tmp_path), "HOME": str(tmp_path)})


def test_a_program_named_the_toolkit_way_wins_over_the_v3_layout(tmp_path: Path) -> None:
    write_layout(tmp_path, {"entry_script": "v3.py"})
    config = load_config({"SAGEMAKER_BASE_DIR": str(tmp_path), "HOME": str(tmp_path), "SAGEMAKER_PROGRAM": "v2.py"})
    assert config.driver_source is None
    assert (config.entry_point, config.code_dir, config.cli_style) == ("v2.py", tmp_path / "code", "contract")
