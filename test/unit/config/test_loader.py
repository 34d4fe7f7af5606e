"""`load_config`: defaults and notices for missing files, values, and every ConfigError case."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from container_runtime.config import base_dir_from, load_config
from container_runtime.errors import ConfigError

HP = "hyperparameters.json"
RC = "resourceconfig.json"
IDC = "inputdataconfig.json"
CKPT = "checkpointconfig.json"
ONE_HOST = {"current_host": "algo-1", "hosts": ["algo-1"]}


def write_files(base: Path, files: Mapping[str, Any]) -> None:
    """Names without '/' go to input/config; others are relative to the base dir.

    str and bytes are written verbatim, anything else as JSON; a name ending in '/' is a dir.
    """
    (base / "input" / "config").mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        path = base / name if "/" in name else base / "input" / "config" / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content if isinstance(content, str) else json.dumps(content))


def hps(**values: Any) -> dict[str, str]:
    """hyperparameters.json content, each value JSON-encoded as the SageMaker SDK does."""
    return {name: json.dumps(value) for name, value in values.items()}


def load(tmp_path: Path, files: Mapping[str, Any] = {}, env: Mapping[str, str] = {}) -> Any:
    base = tmp_path / "ml"
    write_files(base, files)
    (tmp_path / "home").mkdir(exist_ok=True)
    environ = {"SAGEMAKER_BASE_DIR": str(base), "HOME": str(tmp_path / "home"), "CUDA_VISIBLE_DEVICES": "", **env}
    return load_config(environ)


# ------------------------------------------------------------------------------ defaults


def test_defaults_and_notices_when_no_file_exists(tmp_path: Path) -> None:
    config = load(tmp_path)
    base = tmp_path / "ml"
    assert config.paths.base == base
    assert config.resource.hosts == ("algo-1",)
    assert config.current_host == "algo-1"
    assert config.resource.current_instance_type == "local"
    assert config.resource.current_group_name == "homogeneousCluster"
    assert config.resource.network_interface_name == "eth0"
    assert config.resource.instance_groups == ()
    assert config.resource.topology == ()
    assert dict(config.hyperparameters) == {}
    assert dict(config.framework_params) == {}
    assert dict(config.input_data_config) == {}
    assert config.channels == ()
    assert config.entry_point is None
    assert config.submit_directory is None
    assert config.module_dir == str(base / "code")
    assert config.framework_module is None
    assert config.job_name == ""
    assert config.training_job_name is None
    assert config.region == ""
    assert config.log_level == logging.INFO
    assert config.cli_style == "contract"
    assert config.checkpoint_dir == base / "checkpoints"
    assert config.stop_grace_seconds == 120.0
    assert config.package_artifacts is True
    assert config.force_code_extract is False
    assert config.s3_endpoint_url is None
    assert config.num_cpus >= 1
    assert config.num_gpus == 0
    notices = "\n".join(config.notices)
    assert len(config.notices) == 3
    assert f"no {base / 'input' / 'config' / HP}: running with no hyperparameters" in notices
    assert f"no {base / 'input' / 'config' / RC}: running as the single host 'algo-1'" in notices
    assert f"channels are the subdirectories of {base / 'input' / 'data'}: none" in notices


def test_no_inputdataconfig_means_channels_are_the_data_subdirectories(tmp_path: Path) -> None:
    config = load(tmp_path, {"input/data/train/": None, "input/data/eval/": None, "input/data/file.txt": "x"})
    assert [channel.name for channel in config.channels] == ["eval", "train"]
    assert config.channels[1].path == tmp_path / "ml" / "input" / "data" / "train"
    assert dict(config.input_data_config) == {"eval": {}, "train": {}}
    assert any(notice.endswith(": eval, train") for notice in config.notices)


def test_no_notices_when_every_file_is_present(tmp_path: Path) -> None:
    config = load(tmp_path, {HP: {}, RC: ONE_HOST, IDC: {"train": {}}, "input/data/train/": None})
    assert config.notices == ()


@pytest.mark.parametrize(
    "channel_config, notified",
    [
        pytest.param({}, True, id="default-file-mode"),
        pytest.param({"TrainingInputMode": "File"}, True, id="file-mode"),
        pytest.param({"TrainingInputMode": "Pipe"}, False, id="pipe-mode"),
        pytest.param({"TrainingInputMode": "FastFile"}, False, id="fastfile-mode"),
    ],
)
def test_missing_channel_dir_notice(tmp_path: Path, channel_config: dict[str, Any], notified: bool) -> None:
    config = load(tmp_path, {HP: {}, RC: ONE_HOST, IDC: {"train": channel_config}})
    expected = f"channel 'train': {tmp_path / 'ml' / 'input' / 'data' / 'train'} does not exist"
    assert (expected in config.notices) is notified
    assert [channel.name for channel in config.channels] == ["train"]


def test_channels_sorted_and_config_kept(tmp_path: Path) -> None:
    idc = {"zeta": {"ContentType": "csv"}, "alpha.1": {"TrainingInputMode": "Pipe"}, "M-2": {}}
    config = load(tmp_path, {IDC: idc})
    assert [channel.name for channel in config.channels] == ["M-2", "alpha.1", "zeta"]
    assert dict(config.channels[2].config) == {"ContentType": "csv"}
    assert dict(config.input_data_config) == idc


def test_hyperparameters_decoded_split_and_in_file_order(tmp_path: Path) -> None:
    content = {
        "zeta": "3",
        "sagemaker_program": '"train.py"',
        "alpha": "hello world",
        "sagemaker_mpi_enabled": "true",
        "_tuning_objective_metric": "loss",
        "beta": "[1, 2]",
    }
    config = load(tmp_path, {HP: content})
    assert list(config.hyperparameters.items()) == [("zeta", 3), ("alpha", "hello world"), ("beta", [1, 2])]
    assert dict(config.framework_params) == {"sagemaker_mpi_enabled": True}
    assert dict(config.reserved_params) == {"sagemaker_program": "train.py", "_tuning_objective_metric": "loss"}
    assert config.entry_point == "train.py"
    assert config.module_name == "train"


# -------------------------------------------------------------------------------- values

VALUE_CASES = [
    pytest.param({HP: hps(sagemaker_container_log_level="DEBUG")}, {}, "log_level", 10, id="log-level-name"),
    pytest.param({HP: {"sagemaker_container_log_level": "DEBUG"}}, {}, "log_level", 10, id="log-level-raw-name"),
    pytest.param({HP: hps(sagemaker_container_log_level="warning")}, {}, "log_level", 30, id="log-level-lower-case"),
    pytest.param({HP: hps(sagemaker_container_log_level="WARN")}, {}, "log_level", 30, id="log-level-warn"),
    pytest.param({HP: hps(sagemaker_container_log_level="critical")}, {}, "log_level", 50, id="log-level-critical"),
    pytest.param({HP: hps(sagemaker_container_log_level=10)}, {}, "log_level", 10, id="log-level-int"),
    pytest.param({HP: {"sagemaker_container_log_level": 40}}, {}, "log_level", 40, id="log-level-json-int"),
    pytest.param({HP: hps(sagemaker_container_log_level=0)}, {}, "log_level", 0, id="log-level-zero"),
    pytest.param({HP: hps(sagemaker_cli_style="json")}, {}, "cli_style", "json", id="cli-style-json"),
    pytest.param({HP: hps(sagemaker_cli_style="contract")}, {}, "cli_style", "contract", id="cli-style-contract"),
    pytest.param(
        {HP: hps(sagemaker_program="hp.py")},
        {"SAGEMAKER_PROGRAM": "env.py"},
        "entry_point",
        "env.py",
        id="program-env-wins",
    ),
    pytest.param(
        {HP: hps(sagemaker_program="-rf")},
        {"SAGEMAKER_PROGRAM": "env.py"},
        "entry_point",
        "env.py",
        id="program-env-wins-over-invalid-hyperparameter",
    ),
    pytest.param(
        {HP: hps(sagemaker_program="hp.py")},
        {"SAGEMAKER_PROGRAM": ""},
        "entry_point",
        "hp.py",
        id="empty-env-program-ignored",
    ),
    pytest.param({HP: hps(sagemaker_program="")}, {}, "entry_point", None, id="empty-program-is-none"),
    pytest.param({HP: hps(sagemaker_program=None)}, {}, "entry_point", None, id="null-program-is-none"),
    pytest.param(
        {HP: hps(sagemaker_program="scripts/run.sh")}, {}, "entry_point", "scripts/run.sh", id="program-in-subdir"
    ),
    pytest.param(
        {HP: hps(sagemaker_program="my_pkg.v2+x-y.py")},
        {},
        "entry_point",
        "my_pkg.v2+x-y.py",
        id="program-allowed-chars",
    ),
    pytest.param(
        {HP: hps(sagemaker_submit_directory="s3://b/k.tar.gz")},
        {},
        "submit_directory",
        "s3://b/k.tar.gz",
        id="submit-directory",
    ),
    pytest.param(
        {HP: hps(sagemaker_submit_directory="s3://b/k.tar.gz")}, {}, "module_dir", "s3://b/k.tar.gz", id="module-dir"
    ),
    pytest.param({HP: hps(sagemaker_job_name="job-1")}, {}, "job_name", "job-1", id="job-name"),
    pytest.param({}, {"TRAINING_JOB_NAME": "tj"}, "training_job_name", "tj", id="training-job-name"),
    pytest.param(
        {}, {"SAGEMAKER_TRAINING_MODULE": "fw.mod:main"}, "framework_module", "fw.mod:main", id="framework-module"
    ),
    pytest.param({}, {"SAGEMAKER_TRAINING_MODULE": ""}, "framework_module", None, id="empty-framework-module"),
    pytest.param(
        {}, {"S3_ENDPOINT_URL": "http://localhost:9000"}, "s3_endpoint_url", "http://localhost:9000", id="s3-endpoint"
    ),
    pytest.param({}, {}, "package_artifacts", True, id="package-artifacts-default-on-locally"),
    pytest.param(
        {},
        {"TRAINING_JOB_ARN": "arn:aws:sagemaker:x"},
        "package_artifacts",
        False,
        id="package-artifacts-default-off-on-platform",
    ),
    pytest.param(
        {}, {"TRAINING_JOB_ARN": ""}, "package_artifacts", False, id="package-artifacts-off-when-arn-set-empty"
    ),
    pytest.param(
        {},
        {"TRAINING_JOB_ARN": "arn", "SM_PACKAGE_ARTIFACTS": "true"},
        "package_artifacts",
        True,
        id="package-artifacts-forced-on",
    ),
    pytest.param({}, {"SM_PACKAGE_ARTIFACTS": "OFF"}, "package_artifacts", False, id="package-artifacts-forced-off"),
    pytest.param({}, {"SM_PACKAGE_ARTIFACTS": " "}, "package_artifacts", True, id="package-artifacts-blank-is-default"),
    pytest.param({}, {"SM_FORCE_CODE_EXTRACT": "Yes"}, "force_code_extract", True, id="force-code-extract"),
    pytest.param({}, {"SM_STOP_GRACE_SECONDS": "0"}, "stop_grace_seconds", 0.0, id="grace-zero"),
    pytest.param({}, {"SM_STOP_GRACE_SECONDS": " 2.5 "}, "stop_grace_seconds", 2.5, id="grace-float"),
    pytest.param({}, {"SM_STOP_GRACE_SECONDS": ""}, "stop_grace_seconds", 120.0, id="grace-empty-default"),
    pytest.param(
        {CKPT: {"LocalPath": "/ckpt/here"}}, {}, "checkpoint_dir", Path("/ckpt/here"), id="checkpoint-local-path"
    ),
    pytest.param({CKPT: {"LocalPath": ""}}, {}, "checkpoint_dir", "DEFAULT", id="checkpoint-empty-default"),
    pytest.param({CKPT: {"S3Uri": "s3://b/c"}}, {}, "checkpoint_dir", "DEFAULT", id="checkpoint-no-local-path"),
    pytest.param({}, {"CUDA_VISIBLE_DEVICES": "0,1,2"}, "num_gpus", 3, id="num-gpus-from-visible-devices"),
    # Escaped where they become arguments and variables (Python repr, JSON), so accepted.
    pytest.param(
        {HP: hps(opts=["\x00", "\ud800"])}, {}, "hyperparameters", {"opts": ["\x00", "\ud800"]}, id="nested-nul-escaped"
    ),
    pytest.param({HP: hps(raw="\udc80")}, {}, "hyperparameters", {"raw": "\udc80"}, id="surrogate-escaped-byte"),
    pytest.param(
        {RC: {**ONE_HOST, "current_instance_type": "ml.g5.xlarge", "network_interface_name": "ethwe"}},
        {},
        "resource",
        ("ml.g5.xlarge", "ethwe"),
        id="resource-optional-keys",
    ),
]


@pytest.mark.parametrize("files, env, attribute, expected", VALUE_CASES)
def test_loaded_values(
    tmp_path: Path, files: dict[str, Any], env: dict[str, str], attribute: str, expected: Any
) -> None:
    config = load(tmp_path, files, env)
    value = getattr(config, attribute)
    if attribute == "hyperparameters":
        value = dict(value)
    if attribute == "resource":
        value = (value.current_instance_type, value.network_interface_name)
    if expected == "DEFAULT":
        expected = tmp_path / "ml" / "checkpoints"
    assert value == expected


def test_base_dir_from() -> None:
    assert base_dir_from({}) == Path("/opt/ml")
    assert base_dir_from({"SAGEMAKER_BASE_DIR": ""}) == Path("/opt/ml")
    assert base_dir_from({"SAGEMAKER_BASE_DIR": "/x/y"}) == Path("/x/y")


def test_inherited_environ_is_a_read_only_copy(tmp_path: Path) -> None:
    config = load(tmp_path, env={"MY_VAR": "1"})
    assert config.inherited_environ["MY_VAR"] == "1"
    with pytest.raises(TypeError):
        config.inherited_environ["X"] = "1"  # type: ignore[index]


# -------------------------------------------------------------------------------- errors

ERROR_CASES = [
    # hyperparameters.json
    pytest.param({HP: "[1]"}, {}, (HP, "expected a JSON object, got an array"), id="hp-not-object"),
    pytest.param({HP: "{"}, {}, (HP, "is not valid JSON", "line 1"), id="hp-bad-json"),
    pytest.param({HP: b'{"a": "\xff"}'}, {}, (HP, "cannot be read"), id="hp-not-utf8"),
    pytest.param(
        {HP: hps(sagemaker_program=3)},
        {},
        (HP, "key 'sagemaker_program'", "expected a string"),
        id="program-not-string",
    ),
    pytest.param({HP: hps(sagemaker_program=["a.py"])}, {}, (HP, "key 'sagemaker_program'"), id="program-list"),
    pytest.param(
        {HP: hps(sagemaker_program="-rf")},
        {},
        (HP, "key 'sagemaker_program'", "invalid entry point '-rf'"),
        id="program-option-like",
    ),
    pytest.param(
        {HP: hps(sagemaker_program="a/../b")},
        {},
        (HP, "key 'sagemaker_program'", "invalid entry point 'a/../b'"),
        id="program-dotdot",
    ),
    pytest.param(
        {HP: hps(sagemaker_program="../train.py")}, {}, (HP, "invalid entry point"), id="program-leading-dotdot"
    ),
    pytest.param({HP: hps(sagemaker_program="./train.py")}, {}, (HP, "invalid entry point"), id="program-dot"),
    pytest.param({HP: hps(sagemaker_program="/abs/train.py")}, {}, (HP, "invalid entry point"), id="program-absolute"),
    pytest.param({HP: hps(sagemaker_program="a//b.py")}, {}, (HP, "invalid entry point"), id="program-empty-segment"),
    pytest.param({HP: hps(sagemaker_program="dir/")}, {}, (HP, "invalid entry point"), id="program-trailing-slash"),
    pytest.param(
        {HP: hps(sagemaker_program="train.py; rm -rf /")}, {}, (HP, "invalid entry point"), id="program-shell"
    ),
    pytest.param({HP: hps(sagemaker_program="a b.py")}, {}, (HP, "invalid entry point"), id="program-space"),
    pytest.param({HP: hps(sagemaker_program="train.py\n")}, {}, (HP, "invalid entry point"), id="program-newline"),
    pytest.param(
        {},
        {"SAGEMAKER_PROGRAM": "../x.py"},
        ("environment variable SAGEMAKER_PROGRAM", "invalid entry point"),
        id="env-program-invalid",
    ),
    pytest.param(
        {}, {"SAGEMAKER_PROGRAM": "-c"}, ("environment variable SAGEMAKER_PROGRAM", "'-c'"), id="env-program-option"
    ),
    pytest.param(
        {HP: hps(sagemaker_submit_directory=3)},
        {},
        (HP, "key 'sagemaker_submit_directory'"),
        id="submit-directory-not-string",
    ),
    pytest.param({HP: hps(sagemaker_job_name=["j"])}, {}, (HP, "key 'sagemaker_job_name'"), id="job-name-not-string"),
    pytest.param({HP: hps(sagemaker_region=1)}, {}, (HP, "key 'sagemaker_region'"), id="region-not-string"),
    pytest.param(
        {HP: hps(sagemaker_container_log_level="loud")},
        {},
        (HP, "key 'sagemaker_container_log_level'", "'loud'"),
        id="log-level-unknown-name",
    ),
    pytest.param(
        {HP: hps(sagemaker_container_log_level=-1)},
        {},
        (HP, "key 'sagemaker_container_log_level'"),
        id="log-level-negative",
    ),
    pytest.param(
        {HP: hps(sagemaker_container_log_level=True)},
        {},
        (HP, "key 'sagemaker_container_log_level'"),
        id="log-level-bool",
    ),
    pytest.param(
        {HP: hps(sagemaker_container_log_level=2.5)},
        {},
        (HP, "key 'sagemaker_container_log_level'"),
        id="log-level-float",
    ),
    pytest.param(
        {HP: hps(sagemaker_container_log_level=[20])},
        {},
        (HP, "key 'sagemaker_container_log_level'"),
        id="log-level-list",
    ),
    pytest.param(
        {HP: hps(sagemaker_cli_style="yaml")}, {}, (HP, "key 'sagemaker_cli_style'", "'yaml'"), id="cli-style-unknown"
    ),
    pytest.param(
        {HP: hps(sagemaker_cli_style="JSON")}, {}, (HP, "key 'sagemaker_cli_style'"), id="cli-style-case-sensitive"
    ),
    pytest.param({HP: hps(sagemaker_cli_style=1)}, {}, (HP, "key 'sagemaker_cli_style'"), id="cli-style-not-string"),
    # values that become environment variables or arguments of a child process
    pytest.param(
        {HP: hps(sagemaker_job_name="a\x00b")}, {}, (HP, "key 'sagemaker_job_name'", "NUL"), id="job-name-nul"
    ),
    pytest.param(
        {HP: hps(sagemaker_job_name="a\ud800")},
        {},
        (HP, "key 'sagemaker_job_name'", "unpaired surrogate"),
        id="job-name-surrogate",
    ),
    pytest.param({HP: hps(sagemaker_region="eu\x00")}, {}, (HP, "key 'sagemaker_region'", "NUL"), id="region-nul"),
    pytest.param(
        {HP: hps(sagemaker_submit_directory="/src\x00.tgz")},
        {},
        (HP, "key 'sagemaker_submit_directory'", "NUL"),
        id="submit-directory-nul",
    ),
    pytest.param(
        {HP: hps(sagemaker_program="t\x00.py")}, {}, (HP, "key 'sagemaker_program'", "NUL"), id="program-nul"
    ),
    pytest.param({IDC: {"tr\x00ain": {}}}, {}, (IDC, "invalid channel name"), id="channel-nul"),
    pytest.param({HP: hps(epochs="1\x00")}, {}, (HP, "hyperparameter 'epochs'", "NUL"), id="hyperparameter-nul"),
    pytest.param(
        {HP: hps(epochs="\udfff")}, {}, (HP, "hyperparameter 'epochs'", "cannot be passed"), id="hyperparameter-surrogate"
    ),
    pytest.param(
        {HP: hps(opts={"k": "v\x00"})}, {}, (HP, "hyperparameter 'opts'", "NUL"), id="hyperparameter-dict-item-nul"
    ),
    pytest.param(
        {HP: hps(**{"name\ud800": 1})}, {}, (HP, "hyperparameter 'name\\ud800'"), id="hyperparameter-name-surrogate"
    ),
    pytest.param(
        {HP: hps(sagemaker_cli_style="json", opts=["\ud800"])},
        {},
        (HP, "hyperparameter 'opts'", "cannot be passed"),
        id="hyperparameter-json-style-surrogate",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "network_interface_name": "eth\x000"}},
        {},
        (RC, "key 'network_interface_name'", "NUL"),
        id="nic-nul",
    ),
    pytest.param(
        {RC: {"current_host": "algo\x001", "hosts": ["algo\x001"]}},
        {},
        (RC, "key 'current_host'", "NUL"),
        id="current-host-nul",
    ),
    pytest.param(
        {RC: {"current_host": "algo-1", "hosts": ["algo-1", "algo-2\x00"]}},
        {},
        (RC, "key 'hosts', host name", "NUL"),
        id="host-nul",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "current_instance_type": "ml.\ud800"}},
        {},
        (RC, "key 'current_instance_type'", "unpaired surrogate"),
        id="instance-type-surrogate",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "current_group_name": "g\x00"}}, {}, (RC, "key 'current_group_name'", "NUL"), id="group-nul"
    ),
    pytest.param(
        {RC: {**ONE_HOST, "instance_groups": [{"instance_group_name": "g", "hosts": ["algo-1\x00"]}]}},
        {},
        (RC, "instance_groups[0].hosts", "NUL"),
        id="instance-group-host-nul",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "instance_groups": [{"instance_group_name": "g\x00", "hosts": ["algo-1"]}]}},
        {},
        (RC, "instance_groups[0]", "key 'instance_group_name'", "NUL"),
        id="instance-group-name-nul",
    ),
    pytest.param(
        {CKPT: {"LocalPath": "/ckpt\x00"}}, {}, (CKPT, "key 'LocalPath'", "NUL"), id="checkpoint-nul"
    ),
    pytest.param(
        {}, {"TRAINING_JOB_NAME": "tj\x00"}, ("environment variable TRAINING_JOB_NAME", "NUL"), id="env-value-nul"
    ),
    pytest.param(
        {},
        {"SAGEMAKER_TRAINING_MODULE": "m\udcff\ud800:f"},
        ("environment variable SAGEMAKER_TRAINING_MODULE", "unpaired surrogate"),
        id="env-value-surrogate",
    ),
    pytest.param({}, {"A=B": "1"}, ("environment", "'A=B'", "contains '='"), id="env-name-equals"),
    pytest.param({}, {"": "1"}, ("environment", "is empty"), id="env-name-empty"),
    # resourceconfig.json
    pytest.param({RC: "[]"}, {}, (RC, "expected a JSON object, got an array"), id="rc-not-object"),
    pytest.param({RC: "not json"}, {}, (RC, "is not valid JSON"), id="rc-bad-json"),
    pytest.param({RC: {"hosts": ["algo-1"]}}, {}, (RC, "missing key 'current_host'"), id="current-host-missing"),
    pytest.param(
        {RC: {"current_host": "", "hosts": ["algo-1"]}}, {}, (RC, "key 'current_host'"), id="current-host-empty"
    ),
    pytest.param(
        {RC: {"current_host": 1, "hosts": ["algo-1"]}}, {}, (RC, "key 'current_host'"), id="current-host-not-string"
    ),
    pytest.param(
        {RC: {"current_host": "algo-9", "hosts": ["algo-1"]}},
        {},
        (RC, "current_host 'algo-9' is not in hosts"),
        id="current-host-not-in-hosts",
    ),
    pytest.param({RC: {"current_host": "algo-1"}}, {}, (RC, "key 'hosts'"), id="hosts-missing"),
    pytest.param(
        {RC: {"current_host": "algo-1", "hosts": "algo-1"}},
        {},
        (RC, "key 'hosts'", "expected a non-empty array"),
        id="hosts-not-a-list",
    ),
    pytest.param({RC: {"current_host": "algo-1", "hosts": {"algo-1": 1}}}, {}, (RC, "key 'hosts'"), id="hosts-object"),
    pytest.param({RC: {"current_host": "algo-1", "hosts": []}}, {}, (RC, "key 'hosts'"), id="hosts-empty"),
    pytest.param(
        {RC: {"current_host": "algo-1", "hosts": ["algo-1", "algo-1"]}},
        {},
        (RC, "key 'hosts'", "repeat"),
        id="hosts-duplicate",
    ),
    pytest.param(
        {RC: {"current_host": "algo-1", "hosts": ["algo-1", 2]}},
        {},
        (RC, "key 'hosts'", "invalid host name 2"),
        id="host-not-string",
    ),
    pytest.param(
        {RC: {"current_host": "algo-1", "hosts": ["algo-1", ""]}}, {}, (RC, "invalid host name ''"), id="host-empty"
    ),
    pytest.param(
        {RC: {"current_host": "algo-1", "hosts": ["algo-1", "a/b"]}},
        {},
        (RC, "invalid host name 'a/b'"),
        id="host-slash",
    ),
    pytest.param(
        {RC: {"current_host": "algo-1", "hosts": ["algo-1", " algo-2"]}},
        {},
        (RC, "invalid host name ' algo-2'"),
        id="host-space",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "current_instance_type": 3}},
        {},
        (RC, "key 'current_instance_type'"),
        id="instance-type-not-string",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "current_group_name": ["g"]}},
        {},
        (RC, "key 'current_group_name'"),
        id="group-name-not-string",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "network_interface_name": 0}}, {}, (RC, "key 'network_interface_name'"), id="nic-not-string"
    ),
    pytest.param(
        {RC: {**ONE_HOST, "instance_groups": {"g": {}}}},
        {},
        (RC, "key 'instance_groups'", "expected an array, got an object"),
        id="instance-groups-object",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "instance_groups": "g"}},
        {},
        (RC, "key 'instance_groups'", "got a string"),
        id="instance-groups-string",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "instance_groups": [3]}},
        {},
        (RC, "instance_groups[0]", "expected an object, got a number"),
        id="instance-group-not-object",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "instance_groups": [{"instance_group_name": "a", "hosts": []}, {"hosts": ["algo-1"]}]}},
        {},
        (RC, "instance_groups[1]", "missing key 'instance_group_name'"),
        id="instance-group-name-missing",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "instance_groups": [{"instance_group_name": "g", "hosts": "algo-1"}]}},
        {},
        (RC, "instance_groups[0].hosts"),
        id="instance-group-hosts-string",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "instance_groups": [{"instance_group_name": "g", "hosts": ["algo-1", "algo-1"]}]}},
        {},
        (RC, "instance_groups[0].hosts", "repeat"),
        id="instance-group-hosts-duplicate",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "instance_groups": [{"instance_group_name": "g", "instance_type": 5}]}},
        {},
        (RC, "instance_groups[0]", "key 'instance_type'"),
        id="instance-group-type-not-string",
    ),
    pytest.param(
        {RC: {**ONE_HOST, "topology": {"a": 1}}}, {}, (RC, "key 'topology'", "expected an array"), id="topology-object"
    ),
    # inputdataconfig.json
    pytest.param({IDC: "[]"}, {}, (IDC, "expected a JSON object"), id="idc-not-object"),
    pytest.param({IDC: {"../x": {}}}, {}, (IDC, "invalid channel name '../x'"), id="channel-dotdot-slash"),
    pytest.param({IDC: {"": {}}}, {}, (IDC, "invalid channel name ''"), id="channel-empty"),
    pytest.param({IDC: {"..": {}}}, {}, (IDC, "invalid channel name '..'"), id="channel-dotdot"),
    pytest.param({IDC: {".": {}}}, {}, (IDC, "invalid channel name '.'"), id="channel-dot"),
    pytest.param({IDC: {"a/b": {}}}, {}, (IDC, "invalid channel name 'a/b'"), id="channel-slash"),
    pytest.param({IDC: {".hidden": {}}}, {}, (IDC, "invalid channel name '.hidden'"), id="channel-hidden"),
    pytest.param({IDC: {"-x": {}}}, {}, (IDC, "invalid channel name '-x'"), id="channel-option-like"),
    pytest.param({IDC: {"a b": {}}}, {}, (IDC, "invalid channel name 'a b'"), id="channel-space"),
    pytest.param({IDC: {"a=b": {}}}, {}, (IDC, "invalid channel name 'a=b'"), id="channel-equals"),
    pytest.param(
        {IDC: {"train": "File"}},
        {},
        (IDC, "channel 'train'", "expected an object, got a string"),
        id="channel-config-string",
    ),
    pytest.param({IDC: {"train": None}}, {}, (IDC, "channel 'train'", "got null"), id="channel-config-null"),
    pytest.param(
        {IDC: {"train": {}}, "input/data/train": "a file"},
        {},
        (IDC, "channel 'train'", "not a directory"),
        id="channel-path-is-a-file",
    ),
    # checkpointconfig.json
    pytest.param(
        {CKPT: {"LocalPath": "ckpt"}},
        {},
        (CKPT, "key 'LocalPath'", "absolute path", "'ckpt'"),
        id="checkpoint-relative",
    ),
    pytest.param({CKPT: {"LocalPath": 3}}, {}, (CKPT, "key 'LocalPath'"), id="checkpoint-not-string"),
    pytest.param({CKPT: "[]"}, {}, (CKPT, "expected a JSON object"), id="checkpoint-not-object"),
    pytest.param({CKPT: "{"}, {}, (CKPT, "is not valid JSON"), id="checkpoint-bad-json"),
    # environment variables
    pytest.param(
        {}, {"SM_STOP_GRACE_SECONDS": "-1"}, ("environment variable SM_STOP_GRACE_SECONDS", "'-1'"), id="grace-negative"
    ),
    pytest.param(
        {}, {"SM_STOP_GRACE_SECONDS": "nan"}, ("environment variable SM_STOP_GRACE_SECONDS", "'nan'"), id="grace-nan"
    ),
    pytest.param(
        {}, {"SM_STOP_GRACE_SECONDS": "inf"}, ("environment variable SM_STOP_GRACE_SECONDS", "'inf'"), id="grace-inf"
    ),
    pytest.param(
        {}, {"SM_STOP_GRACE_SECONDS": "abc"}, ("environment variable SM_STOP_GRACE_SECONDS", "'abc'"), id="grace-abc"
    ),
    pytest.param(
        {},
        {"SM_STOP_GRACE_SECONDS": "10s"},
        ("environment variable SM_STOP_GRACE_SECONDS", "non-negative number"),
        id="grace-unit",
    ),
    pytest.param(
        {},
        {"SM_PACKAGE_ARTIFACTS": "maybe"},
        ("environment variable SM_PACKAGE_ARTIFACTS", "'maybe'"),
        id="package-artifacts-bad",
    ),
    pytest.param(
        {},
        {"SM_FORCE_CODE_EXTRACT": "2"},
        ("environment variable SM_FORCE_CODE_EXTRACT", "'2'"),
        id="force-extract-bad",
    ),
]


@pytest.mark.parametrize("files, env, expected", ERROR_CASES)
def test_config_errors_name_the_file_and_key(
    tmp_path: Path, files: dict[str, Any], env: dict[str, str], expected: tuple[str, ...]
) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, files, env)
    message = str(raised.value)
    for part in expected:
        assert part in message
    source = expected[0]
    if source.endswith(".json"):
        # The source is the file's full path under the base dir.
        assert raised.value.source.startswith(str(tmp_path / "ml" / "input" / "config" / source))
    else:
        assert raised.value.source == source
    assert raised.value.exit_code == 1
    assert "\n" not in raised.value.one_line()


def test_a_region_from_the_aws_config_file_is_checked_too(tmp_path: Path) -> None:
    aws_config = tmp_path / "aws-config"
    aws_config.write_text("[default]\nregion = eu\x00west-1\n")
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, env={"AWS_CONFIG_FILE": str(aws_config)})
    assert raised.value.source == str(aws_config)
    assert "[default] region" in raised.value.message and "NUL" in raised.value.message


def test_config_file_that_is_a_directory_cannot_be_read(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, {"input/config/hyperparameters.json/": None})
    assert HP in str(raised.value)
    assert "cannot be read" in str(raised.value)


@pytest.mark.parametrize("stray", ["lost+found", ".ipynb_checkpoints"])
def test_stray_data_dirs_are_not_channels_when_inputdataconfig_is_absent(tmp_path: Path, stray: str) -> None:
    config = load(tmp_path, {"input/data/train/": None, f"input/data/{stray}/": None})
    assert [channel.name for channel in config.channels] == ["train"]
