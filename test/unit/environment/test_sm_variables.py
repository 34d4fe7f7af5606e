"""`sm_variables` (contract §1.5) and `child_environment` (§1.6) from a loaded config."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from container_runtime.config import TrainingConfig, load_config
from container_runtime.environment import child_environment, sm_variables
from container_runtime.errors import ConfigError

NO_VALUE = object()  # the file is not written

HETERO_RESOURCE = {
    "current_host": "algo-2",
    "hosts": ["algo-1", "algo-2", "algo-3"],
    "current_instance_type": "ml.p4d.24xlarge",
    "current_group_name": "gpu",
    "network_interface_name": "ethwe",
    "instance_groups": [
        {"instance_group_name": "cpu", "instance_type": "ml.c5.xlarge", "hosts": ["algo-1"]},
        {"instance_group_name": "gpu", "instance_type": "ml.p4d.24xlarge", "hosts": ["algo-2", "algo-3"]},
    ],
}


def make_config(
    tmp_path: Path,
    *,
    hyperparameters: Mapping[str, Any] | object = NO_VALUE,
    raw_hyperparameters: Mapping[str, Any] | None = None,
    resource: Mapping[str, Any] | object = NO_VALUE,
    input_data: Mapping[str, Any] | object = NO_VALUE,
    env: Mapping[str, str] | None = None,
) -> TrainingConfig:
    """Write the config files the SDK way (each hyperparameter JSON-encoded), then load them."""
    base = tmp_path / "ml"
    config_dir = base / "input" / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    (tmp_path / "home").mkdir(exist_ok=True)
    files: dict[str, Any] = {}
    if hyperparameters is not NO_VALUE or raw_hyperparameters is not None:
        encoded = {k: json.dumps(v) for k, v in dict(hyperparameters or {}).items()}  # type: ignore[call-overload]
        files["hyperparameters.json"] = {**encoded, **(raw_hyperparameters or {})}
    if resource is not NO_VALUE:
        files["resourceconfig.json"] = resource
    if input_data is not NO_VALUE:
        files["inputdataconfig.json"] = input_data
    for name, content in files.items():
        (config_dir / name).write_text(json.dumps(content))
    environ = {
        "SAGEMAKER_BASE_DIR": str(base),
        "HOME": str(tmp_path / "home"),
        "CUDA_VISIBLE_DEVICES": "",
        **(env or {}),
    }
    return load_config(environ)


@pytest.fixture
def standard(tmp_path: Path) -> TrainingConfig:
    return make_config(
        tmp_path,
        hyperparameters={
            "learning-rate": 0.001,
            "epochs": 3,
            "flag": True,
            "lst": [1, 2, "x"],
            "nothing": None,
            "nested": {"b": 1, "a": [1]},
            "uni": "caf\u00e9",
            "sagemaker_program": "train.py",
            "sagemaker_mpi_enabled": True,
            "sagemaker_job_name": "job-1",
            "_tuning_objective_metric": "loss",
        },
        raw_hyperparameters={"raw": "hello world", "zero": "007"},
        resource={"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]},
        input_data={"train": {"TrainingInputMode": "File"}, "test-data": {}},
        env={"SAGEMAKER_TRAINING_MODULE": ""},
    )


def _standard_expected(base: Path) -> dict[str, str | None]:
    """Variable -> exact value (None: must be absent)."""
    return {
        "SM_HP_LEARNING-RATE": "0.001",
        "SM_HP_LEARNING_RATE": "0.001",
        "SM_HP_EPOCHS": "3",
        "SM_HP_FLAG": "true",
        "SM_HP_LST": '[1,2,"x"]',
        "SM_HP_NOTHING": "",
        "SM_HP_NESTED": '{"a":[1],"b":1}',
        "SM_HP_UNI": "caf\u00e9",
        "SM_HP_RAW": "hello world",
        "SM_HP_ZERO": "007",
        "SM_HP_SAGEMAKER_PROGRAM": None,
        "SM_HP_SAGEMAKER_MPI_ENABLED": None,
        "SM_HP__TUNING_OBJECTIVE_METRIC": None,
        "SM_HPS": (
            '{"epochs":3,"flag":true,"learning-rate":0.001,"lst":[1,2,"x"],"nested":{"a":[1],"b":1},'
            '"nothing":null,"raw":"hello world","uni":"caf\\u00e9","zero":"007"}'
        ),
        "SM_USER_ARGS": '["--epochs","3","--flag","True"]',
        "SM_USER_ENTRY_POINT": "train.py",
        "SM_MODULE_NAME": "train",
        "SM_MODULE_DIR": str(base / "code"),
        "SM_FRAMEWORK_PARAMS": '{"sagemaker_mpi_enabled":true}',
        "SM_FRAMEWORK_MODULE": "",
        "SM_HOSTS": '["algo-1","algo-2"]',
        "SM_CURRENT_HOST": "algo-1",
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_RESOURCE_CONFIG": '{"current_host":"algo-1","hosts":["algo-1","algo-2"]}',
        "SM_INPUT_DATA_CONFIG": '{"test-data":{},"train":{"TrainingInputMode":"File"}}',
        "SM_CHANNELS": '["test-data","train"]',
        "SM_CHANNEL_TRAIN": str(base / "input" / "data" / "train"),
        "SM_CHANNEL_TEST-DATA": str(base / "input" / "data" / "test-data"),
        "SM_CHANNEL_TEST_DATA": str(base / "input" / "data" / "test-data"),
        "SM_MODEL_DIR": str(base / "model"),
        "SM_INPUT_DIR": str(base / "input"),
        "SM_INPUT_CONFIG_DIR": str(base / "input" / "config"),
        "SM_OUTPUT_DIR": str(base / "output"),
        "SM_OUTPUT_DATA_DIR": str(base / "output" / "data"),
        "SM_OUTPUT_INTERMEDIATE_DIR": str(base / "output" / "intermediate"),
        "SM_CHECKPOINT_DIR": str(base / "checkpoints"),
        "SM_NUM_CPUS": str(os.cpu_count()),
        "SM_NUM_GPUS": "0",
        "SM_NUM_NEURONS": "0",
        "SM_LOG_LEVEL": "20",
        "SM_CURRENT_INSTANCE_TYPE": "local",
        "SM_CURRENT_INSTANCE_GROUP": "homogeneousCluster",
        "SM_CURRENT_INSTANCE_GROUP_HOSTS": "[]",
        "SM_INSTANCE_GROUPS": "[]",
        "SM_INSTANCE_GROUPS_DICT": "{}",
        "SM_DISTRIBUTION_INSTANCE_GROUPS": '["homogeneousCluster"]',
        "SM_IS_HETERO": "false",
        "SM_TOPOLOGY": None,
    }


STANDARD_NAMES = list(_standard_expected(Path("/x")))
USER_ARGS = ["--epochs", "3", "--flag", "True"]


@pytest.mark.parametrize("name", STANDARD_NAMES)
def test_standard_variables(standard: TrainingConfig, name: str) -> None:
    expected = _standard_expected(standard.paths.base)[name]
    assert sm_variables(standard, USER_ARGS).get(name) == expected


def test_every_variable_is_a_string(standard: TrainingConfig) -> None:
    variables = sm_variables(standard, USER_ARGS)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in variables.items())
    assert all(name.startswith("SM_") for name in variables)


def test_every_non_shell_name_has_a_shell_safe_twin(standard: TrainingConfig) -> None:
    variables = sm_variables(standard, USER_ARGS)
    for name, value in variables.items():
        twin = "".join(c if c.isascii() and (c.isalnum() or c == "_") else "_" for c in name)
        assert twin in variables, name
        if twin != name:
            assert variables[twin] == value


TRAINING_ENV_KEYS = {
    "additional_framework_parameters",
    "channel_input_dirs",
    "current_host",
    "current_instance_group",
    "current_instance_group_hosts",
    "current_instance_type",
    "distribution_hosts",
    "distribution_instance_groups",
    "framework_module",
    "hosts",
    "hyperparameters",
    "input_config_dir",
    "input_data_config",
    "input_dir",
    "instance_groups",
    "instance_groups_dict",
    "is_hetero",
    "is_master",
    "is_modelparallel_enabled",
    "is_smddpmprun_installed",
    "is_smddprun_installed",
    "job_name",
    "log_level",
    "master_hostname",
    "model_dir",
    "module_dir",
    "module_name",
    "network_interface_name",
    "num_cpus",
    "num_gpus",
    "num_neurons",
    "output_data_dir",
    "output_dir",
    "output_intermediate_dir",
    "resource_config",
    "topology",
    "user_entry_point",
}


def test_training_env_has_the_contract_keys_and_round_trips(standard: TrainingConfig) -> None:
    document = json.loads(sm_variables(standard, USER_ARGS)["SM_TRAINING_ENV"])
    assert set(document) == TRAINING_ENV_KEYS
    base = standard.paths.base
    assert document["hyperparameters"]["learning-rate"] == 0.001
    assert document["channel_input_dirs"] == {
        "test-data": str(base / "input" / "data" / "test-data"),
        "train": str(base / "input" / "data" / "train"),
    }
    assert document["distribution_hosts"] == ["algo-1", "algo-2"]
    assert document["master_hostname"] == "algo-1"
    assert document["is_master"] is True
    assert document["job_name"] is None
    assert document["topology"] is None
    assert document["module_name"] == "train"
    assert document["user_entry_point"] == "train.py"


@pytest.mark.parametrize(
    "hyperparameters, expected",
    [
        pytest.param(
            {"learning-rate": 1, "learning_rate": 2},
            {"SM_HP_LEARNING-RATE": "1", "SM_HP_LEARNING_RATE": "2"},
            id="dash-first",
        ),
        pytest.param(
            {"learning_rate": 2, "learning-rate": 1},
            {"SM_HP_LEARNING-RATE": "1", "SM_HP_LEARNING_RATE": "2"},
            id="underscore-first",
        ),
        pytest.param(
            {"a.b": "x", "a-b": "y"}, {"SM_HP_A.B": "x", "SM_HP_A-B": "y", "SM_HP_A_B": "x"}, id="first-alias-wins"
        ),
        pytest.param({"a b": 1}, {"SM_HP_A B": "1", "SM_HP_A_B": "1"}, id="space"),
        pytest.param({"lr": 1}, {"SM_HP_LR": "1"}, id="shell-name-no-alias"),
        pytest.param({"hps": 5}, {"SM_HP_HPS": "5"}, id="hp-named-hps"),
    ],
)
def test_shell_safe_aliases_never_overwrite(
    tmp_path: Path, hyperparameters: dict[str, Any], expected: dict[str, str]
) -> None:
    config = make_config(tmp_path, hyperparameters=hyperparameters)
    variables = sm_variables(config, [])
    assert {name: variables.get(name) for name in expected} == expected
    hp_names = {name for name in variables if name.startswith("SM_HP_")}
    assert hp_names == set(expected)


def test_alias_does_not_overwrite_a_channel_variable(tmp_path: Path) -> None:
    config = make_config(tmp_path, input_data={"a-b": {}, "a_b": {}})
    variables = sm_variables(config, [])
    data = config.paths.input_data
    assert variables["SM_CHANNEL_A-B"] == str(data / "a-b")
    assert variables["SM_CHANNEL_A_B"] == str(data / "a_b")


@pytest.mark.parametrize(
    "resource, expected",
    [
        pytest.param(
            {
                "current_host": "algo-1",
                "hosts": ["algo-1"],
                "topology": [{"hostName": "algo-1", "capacityUnitId": "u1"}],
            },
            '[{"capacityUnitId":"u1","hostName":"algo-1"}]',
            id="non-empty",
        ),
        pytest.param({"current_host": "algo-1", "hosts": ["algo-1"], "topology": []}, None, id="empty-list"),
        pytest.param({"current_host": "algo-1", "hosts": ["algo-1"], "topology": None}, None, id="null"),
        pytest.param({"current_host": "algo-1", "hosts": ["algo-1"]}, None, id="absent"),
    ],
)
def test_topology_only_when_non_empty(tmp_path: Path, resource: dict[str, Any], expected: str | None) -> None:
    config = make_config(tmp_path, resource=resource)
    assert sm_variables(config, []).get("SM_TOPOLOGY") == expected


HETERO_EXPECTED = {
    "SM_IS_HETERO": "true",
    "SM_HOSTS": '["algo-1","algo-2","algo-3"]',
    "SM_CURRENT_HOST": "algo-2",
    "SM_CURRENT_INSTANCE_TYPE": "ml.p4d.24xlarge",
    "SM_CURRENT_INSTANCE_GROUP": "gpu",
    "SM_CURRENT_INSTANCE_GROUP_HOSTS": '["algo-2","algo-3"]',
    "SM_INSTANCE_GROUPS": '["cpu","gpu"]',
    "SM_INSTANCE_GROUPS_DICT": (
        '{"cpu":{"hosts":["algo-1"],"instance_group_name":"cpu","instance_type":"ml.c5.xlarge"},'
        '"gpu":{"hosts":["algo-2","algo-3"],"instance_group_name":"gpu","instance_type":"ml.p4d.24xlarge"}}'
    ),
    "SM_DISTRIBUTION_INSTANCE_GROUPS": '["gpu"]',
    "SM_NETWORK_INTERFACE_NAME": "ethwe",
    "SM_FRAMEWORK_PARAMS": '{"sagemaker_distribution_instance_groups":["gpu"]}',
}


@pytest.mark.parametrize("name", list(HETERO_EXPECTED))
def test_heterogeneous_cluster_variables(tmp_path: Path, name: str) -> None:
    config = make_config(
        tmp_path,
        hyperparameters={"sagemaker_distribution_instance_groups": ["gpu"]},
        resource=HETERO_RESOURCE,
    )
    assert sm_variables(config, [])[name] == HETERO_EXPECTED[name]


def test_heterogeneous_cluster_training_env(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        hyperparameters={"sagemaker_distribution_instance_groups": ["gpu"]},
        resource=HETERO_RESOURCE,
    )
    document = json.loads(sm_variables(config, [])["SM_TRAINING_ENV"])
    assert document["distribution_hosts"] == ["algo-2", "algo-3"]
    assert document["master_hostname"] == "algo-2"
    assert document["is_master"] is True
    assert document["is_hetero"] is True


@pytest.mark.parametrize(
    "hyperparameters, groups, expected",
    [
        pytest.param({}, [{"instance_group_name": "g", "hosts": ["algo-1"]}], ("false", "[]"), id="one-group-no-flags"),
        pytest.param(
            {"sagemaker_pytorch_ddp_enabled": True},
            [{"instance_group_name": "g", "hosts": ["algo-1"]}],
            ("false", '["homogeneousCluster"]'),
            id="flag-uses-current-group-name",
        ),
        pytest.param(
            {"sagemaker_mpi_enabled": False},
            [{"instance_group_name": "g", "hosts": ["algo-1"]}, {"instance_group_name": "h", "hosts": []}],
            ("true", "[]"),
            id="two-groups-false-flag",
        ),
    ],
)
def test_is_hetero_and_distribution_groups(
    tmp_path: Path, hyperparameters: dict[str, Any], groups: list[Any], expected: tuple[str, str]
) -> None:
    config = make_config(
        tmp_path,
        hyperparameters=hyperparameters,
        resource={"current_host": "algo-1", "hosts": ["algo-1"], "instance_groups": groups},
    )
    variables = sm_variables(config, [])
    assert (variables["SM_IS_HETERO"], variables["SM_DISTRIBUTION_INSTANCE_GROUPS"]) == expected


@pytest.mark.parametrize(
    "hyperparameters, env, expected",
    [
        pytest.param(
            {}, {}, {"SM_MODULE_NAME": "None", "SM_USER_ENTRY_POINT": "", "SM_FRAMEWORK_MODULE": ""}, id="no-program"
        ),
        pytest.param({"sagemaker_program": "run.sh"}, {}, {"SM_MODULE_NAME": "run.sh"}, id="non-py-module-name"),
        pytest.param(
            {"sagemaker_program": "pkg/train.py"}, {}, {"SM_MODULE_NAME": "pkg/train"}, id="nested-module-name"
        ),
        pytest.param(
            {"sagemaker_submit_directory": "s3://b/k/sourcedir.tar.gz"},
            {},
            {"SM_MODULE_DIR": "s3://b/k/sourcedir.tar.gz"},
            id="module-dir-is-submit-directory",
        ),
        pytest.param({"sagemaker_container_log_level": 10}, {}, {"SM_LOG_LEVEL": "10"}, id="log-level"),
        pytest.param(
            {},
            {"SAGEMAKER_TRAINING_MODULE": "fw.train:main"},
            {"SM_FRAMEWORK_MODULE": "fw.train:main"},
            id="framework-module",
        ),
        pytest.param({}, {"CUDA_VISIBLE_DEVICES": "0,1"}, {"SM_NUM_GPUS": "2"}, id="num-gpus-from-config"),
        pytest.param(
            {}, {}, {"SM_HPS": "{}", "SM_FRAMEWORK_PARAMS": "{}", "SM_CHANNELS": "[]", "SM_USER_ARGS": "[]"}, id="empty"
        ),
    ],
)
def test_other_variables(
    tmp_path: Path, hyperparameters: dict[str, Any], env: dict[str, str], expected: dict[str, str]
) -> None:
    config = make_config(tmp_path, hyperparameters=hyperparameters, env=env)
    variables = sm_variables(config, [])
    assert {name: variables.get(name) for name in expected} == expected


# ---------------------------------------------------------------- child_environment


def test_child_environment_keeps_inherited_variables_and_adds_sm_ones(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        hyperparameters={"sagemaker_job_name": "job-7"},
        env={"MY_VAR": "kept", "SM_HOSTS": "stale", "PATH": "/usr/bin"},
    )
    environ = child_environment(config, ["--a", "1"])
    assert environ["MY_VAR"] == "kept"
    assert environ["PATH"] == "/usr/bin"
    assert environ["SM_HOSTS"] == '["algo-1"]'
    assert environ["SM_USER_ARGS"] == '["--a","1"]'
    assert environ["SAGEMAKER_JOB_NAME"] == "job-7"
    assert environ["CURRENT_HOST"] == "algo-1"
    assert set(sm_variables(config, ["--a", "1"])) <= set(environ)


def test_child_environment_does_not_change_the_config(tmp_path: Path) -> None:
    config = make_config(tmp_path, env={"PYTHONPATH": "/opt/lib"})
    before = dict(config.inherited_environ)
    child_environment(config, [])["MY_VAR"] = "x"
    assert dict(config.inherited_environ) == before


@pytest.mark.parametrize(
    "inherited, expected_after_code",
    [
        pytest.param(None, [], id="none"),
        pytest.param("", [], id="empty"),
        pytest.param("/opt/extra", ["/opt/extra"], id="one"),
        pytest.param(f"/opt/a{os.pathsep}{os.pathsep}/opt/b", ["/opt/a", "/opt/b"], id="two-with-empty-entry"),
        pytest.param(f"/opt/a{os.pathsep}/opt/a", ["/opt/a"], id="duplicate-once"),
    ],
)
def test_pythonpath_starts_with_code_dir_then_inherited(
    tmp_path: Path, inherited: str | None, expected_after_code: list[str]
) -> None:
    env = {} if inherited is None else {"PYTHONPATH": inherited}
    config = make_config(tmp_path, env=env)
    entries = child_environment(config, [])["PYTHONPATH"].split(os.pathsep)
    assert entries[0] == str(config.paths.code)
    assert entries[1 : 1 + len(expected_after_code)] == expected_after_code
    assert "" not in entries
    assert len(entries) == len(set(entries))


def test_pythonpath_keeps_code_dir_first_even_if_inherited(tmp_path: Path) -> None:
    code = str(tmp_path / "ml" / "code")
    config = make_config(tmp_path, env={"PYTHONPATH": f"/opt/a{os.pathsep}{code}"})
    entries = child_environment(config, [])["PYTHONPATH"].split(os.pathsep)
    assert entries[:2] == [code, "/opt/a"]


@pytest.mark.parametrize(
    "inherited, expected",
    [
        pytest.param(None, "1", id="unset-becomes-1"),
        pytest.param("0", "0", id="explicit-0-kept"),
        pytest.param("", "", id="empty-kept"),
    ],
)
def test_pythonunbuffered(tmp_path: Path, inherited: str | None, expected: str) -> None:
    config = make_config(tmp_path, env={} if inherited is None else {"PYTHONUNBUFFERED": inherited})
    assert child_environment(config, [])["PYTHONUNBUFFERED"] == expected


AWS_CONFIG = """\
[default]
region = eu-central-1

[profile dev]
region = ap-south-1

[profile noregion]
output = json
"""


@pytest.mark.parametrize(
    "hyperparameters, env, config_file, expected",
    [
        pytest.param(
            {"sagemaker_region": "eu-west-1"},
            {"AWS_REGION": "us-east-1", "AWS_DEFAULT_REGION": "us-west-1"},
            "config",
            "eu-west-1",
            id="hyperparameter-wins",
        ),
        pytest.param(
            {}, {"AWS_REGION": "us-east-2", "AWS_DEFAULT_REGION": "us-west-1"}, "config", "us-east-2", id="aws-region"
        ),
        pytest.param({}, {"AWS_DEFAULT_REGION": "us-west-1"}, "config", "us-west-1", id="aws-default-region"),
        pytest.param(
            {}, {"AWS_REGION": "", "AWS_DEFAULT_REGION": "us-west-1"}, None, "us-west-1", id="empty-aws-region-skipped"
        ),
        pytest.param(
            {"sagemaker_region": ""}, {"AWS_REGION": "us-east-2"}, None, "us-east-2", id="empty-hyperparameter-skipped"
        ),
        pytest.param({}, {"AWS_PROFILE": "dev"}, "config", "ap-south-1", id="config-file-profile"),
        pytest.param({}, {}, "config", "eu-central-1", id="config-file-default"),
        pytest.param({}, {"AWS_PROFILE": "noregion"}, "config", "", id="config-file-profile-without-region"),
        pytest.param({}, {"AWS_PROFILE": "missing"}, "config", "", id="config-file-unknown-profile"),
        pytest.param({}, {}, "home", "eu-central-1", id="home-aws-config"),
        pytest.param({}, {"AWS_PROFILE": "dev"}, "home", "ap-south-1", id="home-aws-config-profile"),
        pytest.param({}, {}, "broken", "", id="unparsable-config-file"),
        pytest.param({}, {}, None, "", id="nothing"),
    ],
)
def test_sagemaker_region(
    tmp_path: Path, hyperparameters: dict[str, Any], env: dict[str, str], config_file: str | None, expected: str
) -> None:
    env = dict(env)
    if config_file == "config":
        path = tmp_path / "aws-config"
        path.write_text(AWS_CONFIG)
        env["AWS_CONFIG_FILE"] = str(path)
    elif config_file == "home":
        (tmp_path / "home" / ".aws").mkdir(parents=True)
        (tmp_path / "home" / ".aws" / "config").write_text(AWS_CONFIG)
    elif config_file == "broken":
        path = tmp_path / "aws-config"
        path.write_text("region = no-section\n[[[")
        env["AWS_CONFIG_FILE"] = str(path)
    config = make_config(tmp_path, hyperparameters=hyperparameters, env=env)
    assert config.region == expected
    assert child_environment(config, [])["SAGEMAKER_REGION"] == expected


def test_sagemaker_job_name_defaults_to_empty(tmp_path: Path) -> None:
    config = make_config(tmp_path, env={"SAGEMAKER_JOB_NAME": "inherited"})
    assert child_environment(config, [])["SAGEMAKER_JOB_NAME"] == ""


def _valid_for_exec(environ: Mapping[str, str]) -> bool:
    try:
        for name, value in environ.items():
            os.fsencode(name), os.fsencode(value)
            if not name or "=" in name or "\x00" in name or "\x00" in value:
                return False
    except UnicodeEncodeError:
        return False
    return True


def test_hyperparameter_names_that_cannot_be_variables_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="'a=b'"):
        make_config(tmp_path, hyperparameters={"a=b": 1})


def test_child_environment_ordinary_names_are_valid_for_exec(standard: TrainingConfig) -> None:
    assert _valid_for_exec(child_environment(standard, USER_ARGS))


# SDK v3's variables, exported for every job.

TEN_HOSTS = [f"algo-{index}" for index in range(1, 11)]


def test_rank_follows_the_resource_config_order_not_a_text_sort(tmp_path: Path) -> None:
    # v3 sorts the names as text: algo-10 would come second and algo-2 third.
    config = make_config(
        tmp_path, hyperparameters={"sagemaker_program": "train.py"},
        resource={"current_host": "algo-10", "hosts": TEN_HOSTS},
    )
    variables = sm_variables(config, [])
    assert variables["SM_CURRENT_HOST_RANK"] == "9"
    assert variables["SM_HOST_COUNT"] == "10"
    assert variables["SM_MASTER_ADDR"] == "algo-1"
    assert variables["SM_MASTER_PORT"] == "7777"


def test_master_is_the_first_listed_host_whatever_its_name(tmp_path: Path) -> None:
    config = make_config(
        tmp_path, hyperparameters={"sagemaker_program": "train.py"},
        resource={"current_host": "node-a", "hosts": ["node-b", "node-a"]},
    )
    variables = sm_variables(config, [])
    assert (variables["SM_MASTER_ADDR"], variables["SM_CURRENT_HOST_RANK"]) == ("node-b", "1")


def test_paths_and_entry_script_of_a_toolkit_style_job(tmp_path: Path) -> None:
    config = make_config(tmp_path, hyperparameters={"sagemaker_program": "train.py"})
    variables = sm_variables(config, [])
    base = tmp_path / "ml"
    assert variables["SM_ENTRY_SCRIPT"] == "train.py"
    assert variables["SM_SOURCE_DIR"] == str(base / "code")
    assert variables["SM_OUTPUT_FAILURE"] == str(base / "output" / "failure")
    assert variables["SM_INPUT_DATA_DIR"] == str(base / "input" / "data")
    assert "SM_DISTRIBUTED_CONFIG" not in variables
    assert "SM_DISTRIBUTED_DRIVER_DIR" not in variables


def test_distributed_config_of_an_mpi_job_in_v3s_mpi_shape(tmp_path: Path) -> None:
    config = make_config(
        tmp_path,
        hyperparameters={
            "sagemaker_program": "train.py", "sagemaker_mpi_enabled": True,
            "sagemaker_mpi_num_of_processes_per_host": 2, "sagemaker_mpi_custom_mpi_options": "-x FOO",
        },
        resource={"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]},
    )
    document = json.loads(sm_variables(config, [])["SM_DISTRIBUTED_CONFIG"])
    assert document == {
        "kind": "mpi", "hosts": ["algo-1", "algo-2"], "process_count_per_node": 2,
        "mpi_additional_options": ["-x", "FOO"], "num_processes": 4,
    }


def _v3_layout(tmp_path: Path, source_code: dict[str, object], distributed: dict[str, object] | None = None) -> None:
    drivers = tmp_path / "ml" / "input" / "data" / "sm_drivers"
    drivers.mkdir(parents=True)
    (drivers / "sourcecode.json").write_text(json.dumps(source_code))
    (drivers / "distributed.json").write_text(json.dumps(distributed or {}))
    (tmp_path / "ml" / "input" / "data" / "code").mkdir()


def test_a_v3_job_sees_its_code_channel_and_entry_script(tmp_path: Path) -> None:
    _v3_layout(tmp_path, {"source_dir": "/home/me/src", "entry_script": "train.py", "command": None})
    config = make_config(tmp_path, hyperparameters={"epochs": 2, "k": True})
    variables = sm_variables(config, ["--epochs", "2"])
    code = tmp_path / "ml" / "input" / "data" / "code"
    assert variables["SM_ENTRY_SCRIPT"] == "train.py"
    assert variables["SM_SOURCE_DIR"] == variables["SM_MODULE_DIR"] == str(code)
    assert config.cli_style == "json"  # v3's rendering is the default for v3 jobs
    assert "SM_DISTRIBUTED_CONFIG" not in variables


def test_a_v3_mpi_job_gets_distributed_json_as_sent(tmp_path: Path) -> None:
    sent = {"process_count_per_node": 3, "mpi_additional_options": ["--verbose"]}
    _v3_layout(tmp_path, {"entry_script": "train.py"}, sent)
    config = make_config(tmp_path, resource={"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]})
    variables = sm_variables(config, [])
    assert json.loads(variables["SM_DISTRIBUTED_CONFIG"]) == sent
    assert variables["SM_DISTRIBUTED_DRIVER_DIR"].endswith("input/data/sm_drivers/distributed_drivers")
    assert config.distribution.kind == "mpi"
    assert (config.distribution.processes_per_host, config.distribution.num_processes) == (3, 6)
    assert config.distribution.custom_mpi_options == ("--verbose",)
