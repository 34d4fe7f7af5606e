"""What a user script sees when `train` runs it: argv, cwd, SM_* variables, PYTHONPATH."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from harness.jobs import JobDir


def run_and_report(job: JobDir, env: dict[str, str] | None = None) -> dict[str, Any]:
    result = job.run(env)
    assert result.returncode == 0, result.stderr
    report: dict[str, Any] = json.loads((job.model / "report.json").read_text())
    return report


@pytest.fixture
def configured(job: JobDir) -> JobDir:
    job.script("report_env.py")
    job.hyperparameters(
        {
            "sagemaker_program": "report_env.py",
            "sagemaker_job_name": "job-42",
            "sagemaker_region": "eu-west-1",
            "sagemaker_parameter_server_enabled": True,  # a distribution flag the generic flow does not act on
            "epochs": 3,
            "learning-rate": 0.001,
            "flag": True,
            "layers": [1, 2, "x"],
            "opts": {"b": 2, "a": 1},
            "name": "hello world",
            "nothing": None,
            "_tuning_objective_metric": "loss",
        }
    )
    job.config_file(
        "resourceconfig.json",
        {"current_host": "algo-2", "hosts": ["algo-1", "algo-2"], "network_interface_name": "ethwe"},
    )
    job.config_file(
        "inputdataconfig.json",
        {"train": {"TrainingInputMode": "File"}, "test": {"TrainingInputMode": "File"}},
    )
    job.channel("train")
    job.channel("test")
    return job


def test_argv_is_the_contract_rendering(configured: JobDir) -> None:
    report = run_and_report(configured)
    assert report["argv"][1:] == [
        "--epochs", "3", "--flag", "True", "--layers", "[1, 2, 'x']",
        "--learning-rate", "0.001", "--name", "hello world", "--nothing", "",
        "--opts", "a=1,b=2",
    ]
    assert report["cwd"] == str(configured.code)


def test_json_cli_style_keeps_order_and_json_values(configured: JobDir) -> None:
    configured.hyperparameters(
        {"sagemaker_program": "report_env.py", "sagemaker_cli_style": "json",
         "zeta": [1, "a"], "alpha": False, "mid": {"k": None}}
    )
    report = run_and_report(configured)
    assert report["argv"][1:] == ["--zeta", '[1, "a"]', "--alpha", "false", "--mid", '{"k": null}']


def test_json_cli_style_is_sdk_v3s_rendering_double_dash_for_one_letter_names(configured: JobDir) -> None:
    configured.hyperparameters({"sagemaker_program": "report_env.py", "sagemaker_cli_style": "json", "k": 1})
    assert run_and_report(configured)["argv"][1:] == ["--k", "1"]


def test_sm_variables(configured: JobDir) -> None:
    env = run_and_report(configured)["env"]
    base = configured.base
    assert env["SM_HOSTS"] == '["algo-1","algo-2"]'
    assert env["SM_CURRENT_HOST"] == env["CURRENT_HOST"] == "algo-2"
    assert env["SM_NETWORK_INTERFACE_NAME"] == "ethwe"
    assert json.loads(env["SM_HPS"]) == {
        "epochs": 3, "learning-rate": 0.001, "flag": True, "layers": [1, 2, "x"],
        "opts": {"a": 1, "b": 2}, "name": "hello world", "nothing": None,
    }
    assert env["SM_HPS"].startswith('{"epochs":3,"flag":true')  # compact, sorted keys
    assert env["SM_HP_LEARNING-RATE"] == env["SM_HP_LEARNING_RATE"] == "0.001"
    assert env["SM_HP_FLAG"] == "true"
    assert env["SM_HP_LAYERS"] == '[1,2,"x"]'
    assert env["SM_HP_NAME"] == "hello world"
    assert env["SM_HP_NOTHING"] == ""
    assert "SM_HP__TUNING_OBJECTIVE_METRIC" not in env
    assert json.loads(env["SM_USER_ARGS"])[:2] == ["--epochs", "3"]
    assert env["SM_USER_ENTRY_POINT"] == "report_env.py"
    assert env["SM_MODULE_NAME"] == "report_env"
    assert env["SM_MODULE_DIR"] == str(configured.code)
    assert env["SM_FRAMEWORK_PARAMS"] == '{"sagemaker_parameter_server_enabled":true}'
    assert env["SM_FRAMEWORK_MODULE"] == ""
    assert env["SM_CHANNELS"] == '["test","train"]'
    assert env["SM_CHANNEL_TRAIN"] == str(base / "input" / "data" / "train")
    assert env["SM_MODEL_DIR"] == str(base / "model")
    assert env["SM_INPUT_DIR"] == str(base / "input")
    assert env["SM_INPUT_CONFIG_DIR"] == str(base / "input" / "config")
    assert env["SM_OUTPUT_DIR"] == str(base / "output")
    assert env["SM_OUTPUT_DATA_DIR"] == str(base / "output" / "data")
    assert env["SM_OUTPUT_INTERMEDIATE_DIR"] == str(base / "output" / "intermediate")
    assert env["SM_CHECKPOINT_DIR"] == str(base / "checkpoints")
    assert int(env["SM_NUM_CPUS"]) >= 1
    assert env["SM_NUM_GPUS"] == "0"
    assert env["SM_NUM_NEURONS"] == "0"
    assert env["SM_LOG_LEVEL"] == "20"
    assert env["SM_CURRENT_INSTANCE_TYPE"] == "local"
    assert env["SM_CURRENT_INSTANCE_GROUP"] == "homogeneousCluster"
    assert env["SM_CURRENT_INSTANCE_GROUP_HOSTS"] == "[]"
    assert env["SM_INSTANCE_GROUPS"] == "[]"
    assert env["SM_INSTANCE_GROUPS_DICT"] == "{}"
    assert env["SM_DISTRIBUTION_INSTANCE_GROUPS"] == '["homogeneousCluster"]'
    assert env["SM_IS_HETERO"] == "false"
    assert json.loads(env["SM_RESOURCE_CONFIG"])["current_host"] == "algo-2"
    assert json.loads(env["SM_INPUT_DATA_CONFIG"]) == {
        "test": {"TrainingInputMode": "File"}, "train": {"TrainingInputMode": "File"}
    }
    assert "SM_TOPOLOGY" not in env
    assert env["SAGEMAKER_JOB_NAME"] == "job-42"
    assert env["SAGEMAKER_REGION"] == "eu-west-1"
    assert env["PYTHONPATH"].split(":")[0] == str(configured.code)


def test_sdk_v3_variables(configured: JobDir) -> None:
    env = run_and_report(configured)["env"]
    assert env["SM_MASTER_ADDR"] == "algo-1"
    assert env["SM_MASTER_PORT"] == "7777"
    assert env["SM_HOST_COUNT"] == "2"
    assert env["SM_CURRENT_HOST_RANK"] == "1"
    assert env["SM_ENTRY_SCRIPT"] == "report_env.py"
    assert env["SM_SOURCE_DIR"] == str(configured.code)
    assert env["SM_OUTPUT_FAILURE"] == str(configured.output / "failure")
    assert env["SM_INPUT_DATA_DIR"] == str(configured.base / "input" / "data")
    assert "SM_DISTRIBUTED_CONFIG" not in env  # a parameter-server flag does nothing without an adapter


def test_host_rank_is_the_resource_config_order_with_ten_hosts(configured: JobDir) -> None:
    hosts = [f"algo-{index}" for index in range(1, 11)]
    for current, rank in (("algo-2", "1"), ("algo-10", "9")):
        configured.config_file("resourceconfig.json", {"current_host": current, "hosts": hosts})
        env = run_and_report(configured)["env"]
        assert (env["SM_CURRENT_HOST_RANK"], env["SM_HOST_COUNT"]) == (rank, "10")


def test_training_env_document(configured: JobDir) -> None:
    env = run_and_report(configured)["env"]
    document = json.loads(env["SM_TRAINING_ENV"])
    assert sorted(document) == sorted(
        ["additional_framework_parameters", "channel_input_dirs", "current_host", "current_instance_group", "current_instance_group_hosts", "current_instance_type", "distribution_hosts", "distribution_instance_groups", "framework_module", "hosts", "hyperparameters", "input_config_dir", "input_data_config", "input_dir", "instance_groups", "instance_groups_dict", "is_hetero", "is_master", "is_modelparallel_enabled", "is_smddpmprun_installed", "is_smddprun_installed", "job_name", "log_level", "master_hostname", "model_dir", "module_dir", "module_name", "network_interface_name", "num_cpus", "num_gpus", "num_neurons", "output_data_dir", "output_dir", "output_intermediate_dir", "resource_config", "topology", "user_entry_point"]
    )
    assert document["master_hostname"] == "algo-1"
    assert document["is_master"] is False
    assert document["distribution_hosts"] == ["algo-1", "algo-2"]
    assert document["job_name"] is None


def test_platform_job_name_and_program_variable(configured: JobDir) -> None:
    configured.script("report_env.py", as_name="other.py")
    report = run_and_report(
        configured, {"TRAINING_JOB_NAME": "platform-job", "SAGEMAKER_PROGRAM": "other.py"}
    )
    assert report["argv"][0] == "other.py"
    assert json.loads(report["env"]["SM_TRAINING_ENV"])["job_name"] == "platform-job"


def test_defaults_without_config_files(job: JobDir) -> None:
    job.script("report_env.py")
    job.channel("train")
    job.channel("eval")
    result = job.run({"SAGEMAKER_PROGRAM": "report_env.py"})
    assert result.returncode == 0, result.stderr
    env = json.loads((job.model / "report.json").read_text())["env"]
    assert env["SM_HOSTS"] == '["algo-1"]'
    assert env["SM_CHANNELS"] == '["eval","train"]'
    assert env["SM_HPS"] == "{}"
    for default in ("resourceconfig.json", "inputdataconfig.json", "hyperparameters.json"):
        assert sum(default in line for line in result.stderr.splitlines()) == 1


def test_checkpoint_dir_from_checkpointconfig(configured: JobDir, tmp_path: Path) -> None:
    configured.config_file("checkpointconfig.json", {"LocalPath": str(tmp_path / "ckpt")})
    env = run_and_report(configured)["env"]
    assert env["SM_CHECKPOINT_DIR"] == str(tmp_path / "ckpt")


def test_gpus_counted_from_cuda_visible_devices(configured: JobDir) -> None:
    env = run_and_report(configured, {"CUDA_VISIBLE_DEVICES": "0,1,2"})["env"]
    # No NVIDIA driver here: the variable alone tells.
    assert env["SM_NUM_GPUS"] == "3"


def test_logs_hide_secret_hyperparameters(configured: JobDir) -> None:
    configured.hyperparameters({"sagemaker_program": "report_env.py", "db_password": "hunter2xyz"})
    result = configured.run()
    assert result.returncode == 0
    assert "hunter2xyz" not in result.stderr
    assert "*****" in result.stderr


def test_without_resourceconfig_a_slurm_node_sees_the_allocations_hosts(job: JobDir) -> None:
    """One `train` per node under `srun`: the hosts come from Slurm's variables, in Slurm's order."""
    job.script("report_env.py").hyperparameters({"sagemaker_program": "report_env.py"})
    result = job.run({"SLURM_JOB_NODELIST": "node[9-10]", "SLURMD_NODENAME": "node9", "SLURM_NTASKS": "2"})
    assert result.returncode == 0, result.stderr
    env = json.loads((job.model / "report.json").read_text())["env"]
    assert json.loads(env["SM_HOSTS"]) == ["node9", "node10"]
    assert env["SM_CURRENT_HOST"] == "node9"
    assert json.loads(env["SM_TRAINING_ENV"])["hosts"] == ["node9", "node10"]
    assert "hosts from Slurm (SLURM_JOB_NODELIST and SLURMD_NODENAME): node9, node10" in result.stderr


def test_two_tasks_of_one_slurm_job_on_a_node_is_a_configuration_error(job: JobDir) -> None:
    job.script("report_env.py").hyperparameters({"sagemaker_program": "report_env.py"})
    result = job.run({"SLURM_JOB_NODELIST": "node1", "SLURMD_NODENAME": "node1", "SLURM_NTASKS": "2"})
    assert result.returncode != 0
    failure = job.failure()
    assert failure is not None and "environment variable SLURM_NTASKS" in failure
    assert "srun --ntasks-per-node=1" in failure
    assert not (job.model / "report.json").exists()
