"""The job's `Distribution`: which key table `load_config` reads, what it resolves, and every error."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from container_runtime import plugins
from container_runtime.config import Distribution, TrainingConfig, load_config
from container_runtime.config.distribution import (
    GENERIC_KEYS,
    KEY_TABLES,
    TRAINING_ADAPTERS,
    key_table,
    registered_framework,
    require_framework,
)
from container_runtime.errors import ConfigError

REPO = Path(__file__).resolve().parents[3]
CHAINER = {"SAGEMAKER_TRAINING_MODULE": "container_runtime_chainer.training:run"}
TENSORFLOW = {"SAGEMAKER_TRAINING_MODULE": "container_runtime_tensorflow.training:run"}
GENERIC: dict[str, str] = {}
UNREGISTERED = {"SAGEMAKER_TRAINING_MODULE": "my_toolkit.training:main"}
TWO_HOSTS = {"current_host": "algo-1", "hosts": ["algo-1", "algo-2"]}


def load(
    tmp_path: Path,
    hyperparameters: Mapping[str, Any],
    env: Mapping[str, str] = GENERIC,
    resource: Mapping[str, Any] | None = None,
    gpus: str = "",
) -> TrainingConfig:
    """load_config on files written the SDK way (each hyperparameter JSON-encoded)."""
    config_dir = tmp_path / "ml" / "input" / "config"
    config_dir.mkdir(parents=True, exist_ok=True)
    encoded = {name: json.dumps(value) for name, value in hyperparameters.items()}
    (config_dir / "hyperparameters.json").write_text(json.dumps(encoded))
    if resource is not None:
        (config_dir / "resourceconfig.json").write_text(json.dumps(resource))
    (tmp_path / "home").mkdir(exist_ok=True)
    environ = {"SAGEMAKER_BASE_DIR": str(tmp_path / "ml"), "HOME": str(tmp_path / "home"),
               "CUDA_VISIBLE_DEVICES": gpus, **env}
    return load_config(environ)


def load_error(tmp_path: Path, hyperparameters: Mapping[str, Any], env: Mapping[str, str] = GENERIC,
               resource: Mapping[str, Any] | None = None) -> ConfigError:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, hyperparameters, env, resource)
    return raised.value


# ------------------------------------------------------------------------- choosing the table


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        pytest.param(None, (None, GENERIC_KEYS), id="no-adapter-generic-keys"),
        pytest.param("container_runtime_chainer.training:run", ("chainer", KEY_TABLES["chainer"]), id="chainer"),
        pytest.param("container_runtime_tensorflow.training:run", ("tensorflow", KEY_TABLES["tensorflow"]),
                     id="tensorflow"),
        pytest.param("my_toolkit.training:main", (None, None), id="unregistered-adapter"),
        pytest.param("container_runtime_chainer.training", (None, None), id="other-function-of-a-registered-module"),
        pytest.param("container_runtime_chainer.training:main", (None, None), id="other-function-named"),
    ],
)
def test_the_key_table_is_the_registered_frameworks(module: str | None, expected: object) -> None:
    assert key_table(module) == expected


def test_registered_names_come_from_the_training_adapters_group() -> None:
    assert TRAINING_ADAPTERS == plugins.TRAINING_ADAPTERS
    for name, entry in plugins.registered(plugins.TRAINING_ADAPTERS).items():
        assert registered_framework(entry.value) == name


def test_every_table_belongs_to_a_registered_framework() -> None:
    assert set(KEY_TABLES) <= set(plugins.registered(plugins.TRAINING_ADAPTERS))


def test_the_core_names_no_framework_module() -> None:
    offending = [
        str(path.relative_to(REPO))
        for path in (REPO / "container_runtime").rglob("*.py")
        if "container_runtime_chainer" in path.read_text() or "container_runtime_tensorflow" in path.read_text()
    ]
    assert offending == []


# ------------------------------------------------------------------------------- resolving


ONE = ("algo-1",)
BOTH = ("algo-1", "algo-2")


def chainer(*fields: Any) -> Distribution:
    return Distribution(*fields, framework="chainer")


def tensorflow(*fields: Any) -> Distribution:
    return Distribution(*fields, framework="tensorflow")


@pytest.mark.parametrize(
    ("hyperparameters", "env", "resource", "expected"),
    [
        pytest.param({}, GENERIC, None, Distribution("none", ONE, 1, 1), id="generic-nothing"),
        pytest.param({"sagemaker_mpi_enabled": True}, GENERIC, None, Distribution("mpi", ONE, 1, 1), id="generic-mpi"),
        pytest.param({"sagemaker_mpi_enabled": "false"}, GENERIC, None, Distribution("none", ONE, 1, 1),
                     id="generic-mpi-false-string"),
        pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_num_of_processes_per_host": 2,
                      "sagemaker_mpi_custom_mpi_options": "-x A=1 --verbose"}, GENERIC, TWO_HOSTS,
                     Distribution("mpi", BOTH, 2, 4, ("-x", "A=1", "--verbose")), id="generic-mpi-two-hosts"),
        pytest.param({"sagemaker_parameter_server_enabled": True}, GENERIC, TWO_HOSTS, Distribution("none", BOTH, 1, 2),
                     id="generic-ignores-parameter-servers"),
        pytest.param({"sagemaker_use_mpi": True}, GENERIC, None, Distribution("none", ONE, 1, 1),
                     id="generic-ignores-chainer-key"),
        pytest.param({}, CHAINER, None, chainer("none", ONE, 1, 1), id="chainer-one-host"),
        pytest.param({}, CHAINER, TWO_HOSTS, chainer("mpi", BOTH, 1, 2), id="chainer-mpi-by-default-on-two-hosts"),
        pytest.param({"sagemaker_use_mpi": False}, CHAINER, TWO_HOSTS, chainer("none", BOTH, 1, 2),
                     id="chainer-mpi-off"),
        pytest.param({"sagemaker_mpi_enabled": True}, CHAINER, None, chainer("none", ONE, 1, 1),
                     id="chainer-ignores-generic-flag"),
        pytest.param({"sagemaker_use_mpi": True, "sagemaker_process_slots_per_host": 3,
                      "sagemaker_mpi_num_of_processes_per_host": 2, "sagemaker_num_processes": "5",
                      "sagemaker_additional_mpi_options": "-x A=1", "sagemaker_mpi_custom_mpi_options": "-v"},
                     CHAINER, TWO_HOSTS, chainer("mpi", BOTH, 3, 5, ("-x", "A=1", "-v")),
                     id="chainer-keys-first-wins-options-appended"),
        pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_num_processes": 3}, TENSORFLOW, None,
                     tensorflow("mpi", ONE, 1, 3), id="tensorflow-mpi"),
        pytest.param({"sagemaker_parameter_server_enabled": True}, TENSORFLOW, TWO_HOSTS,
                     tensorflow("parameter_server", BOTH, 1, 2), id="tensorflow-parameter-servers"),
        pytest.param({"sagemaker_parameter_server_enabled": True}, TENSORFLOW, None, tensorflow("none", ONE, 1, 1),
                     id="tensorflow-parameter-servers-need-two-hosts"),
        pytest.param({"sagemaker_multi_worker_mirrored_strategy_enabled": "true"}, TENSORFLOW, None,
                     tensorflow("multi_worker_mirrored", ONE, 1, 1), id="tensorflow-mwms"),
        pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_parameter_server_enabled": False}, TENSORFLOW, None,
                     tensorflow("mpi", ONE, 1, 1), id="tensorflow-false-flags-do-not-contradict"),
        pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_num_processes": 0}, UNREGISTERED, None,
                     Distribution("none", ONE, 1, 1), id="unregistered-adapter-reads-its-own-keys"),
    ],
)
def test_resolved_distribution(
    tmp_path: Path, hyperparameters: dict[str, Any], env: dict[str, str], resource: dict[str, Any] | None,
    expected: Distribution,
) -> None:
    assert load(tmp_path, hyperparameters, env, resource).distribution == expected


def test_ranks_per_host_default_to_the_gpu_count(tmp_path: Path) -> None:
    config = load(tmp_path, {"sagemaker_mpi_enabled": True}, GENERIC, TWO_HOSTS, gpus="0,1,2,3")
    assert (config.distribution.processes_per_host, config.distribution.num_processes) == (4, 8)


def test_mpi_keys_are_read_only_when_mpi_is_on(tmp_path: Path) -> None:
    """As before: a job that does not use MPI is not failed by MPI keys it does not use."""
    config = load(tmp_path, {"sagemaker_mpi_num_processes": "many", "sagemaker_mpi_custom_mpi_options": ["-v"]})
    assert config.distribution.kind == "none"


HETERO = {
    "current_host": "algo-2",
    "hosts": ["algo-1", "algo-2", "algo-3"],
    "current_group_name": "gpu",
    "instance_groups": [
        {"instance_group_name": "cpu", "hosts": ["algo-1"]},
        {"instance_group_name": "gpu", "hosts": ["algo-2", "algo-3"]},
    ],
}


@pytest.mark.parametrize(
    ("hyperparameters", "expected_hosts"),
    [
        pytest.param({"sagemaker_mpi_enabled": True}, ("algo-2", "algo-3"), id="flag-selects-the-current-group"),
        pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_distribution_instance_groups": ["cpu"]},
                     ("algo-1",), id="explicit-groups"),
        pytest.param({}, ("algo-1", "algo-2", "algo-3"), id="no-distribution-every-host"),
    ],
)
def test_the_hosts_are_those_of_the_distribution_groups(
    tmp_path: Path, hyperparameters: dict[str, Any], expected_hosts: tuple[str, ...]
) -> None:
    config = load(tmp_path, hyperparameters, GENERIC, HETERO)
    assert config.distribution.hosts == expected_hosts
    assert config.master_hostname == expected_hosts[0]


# ---------------------------------------------------------------------------------- errors

ERRORS = [
    pytest.param({"sagemaker_mpi_enabled": "sometimes"}, GENERIC, ("'sagemaker_mpi_enabled'", "true or false"),
                 id="generic-flag-garbage"),
    pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_num_processes": 0}, GENERIC,
                 ("'sagemaker_mpi_num_processes'", "whole number of processes >= 1, got 0"), id="generic-zero"),
    pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_num_of_processes_per_host": "\u00b2"}, GENERIC,
                 ("'sagemaker_mpi_num_of_processes_per_host'", "'\u00b2'"), id="superscript-digit-is-no-number"),
    pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_num_processes": 2.0}, GENERIC,
                 ("'sagemaker_mpi_num_processes'",), id="float-count"),
    pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_custom_mpi_options": {"-x": "A"}}, GENERIC,
                 ("'sagemaker_mpi_custom_mpi_options'", "expected a string of mpirun options"), id="options-object"),
    pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_custom_mpi_options": "-x 'A=1"}, GENERIC,
                 ("'sagemaker_mpi_custom_mpi_options'", "cannot split"), id="options-unclosed-quote"),
    pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_custom_mpi_options": "-x A=\u0000"}, GENERIC,
                 ("'sagemaker_mpi_custom_mpi_options'", "NUL"), id="options-nul"),
    pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_custom_mpi_options": "-x A=\ud800"}, GENERIC,
                 ("'sagemaker_mpi_custom_mpi_options'", "unpaired surrogate"), id="options-surrogate"),
    pytest.param({"sagemaker_use_mpi": "sometimes"}, CHAINER, ("'sagemaker_use_mpi'",), id="chainer-flag-garbage"),
    pytest.param({"sagemaker_use_mpi": True, "sagemaker_process_slots_per_host": -1}, CHAINER,
                 ("'sagemaker_process_slots_per_host'",), id="chainer-negative-slots"),
    pytest.param({"sagemaker_use_mpi": True, "sagemaker_additional_mpi_options": 3}, CHAINER,
                 ("'sagemaker_additional_mpi_options'",), id="chainer-options-number"),
    pytest.param({"sagemaker_parameter_server_enabled": "yes please"}, TENSORFLOW,
                 ("'sagemaker_parameter_server_enabled'",), id="tensorflow-flag-garbage"),
    pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_parameter_server_enabled": True}, TENSORFLOW,
                 ("'sagemaker_mpi_enabled' and 'sagemaker_parameter_server_enabled' are both true",),
                 id="tensorflow-mpi-and-parameter-servers"),
    pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_multi_worker_mirrored_strategy_enabled": True},
                 TENSORFLOW, ("'sagemaker_multi_worker_mirrored_strategy_enabled'", "choose one"),
                 id="tensorflow-mpi-and-mwms"),
    pytest.param({"sagemaker_parameter_server_enabled": True, "sagemaker_mpi_enabled": "true",
                  "sagemaker_multi_worker_mirrored_strategy_enabled": True}, TENSORFLOW, ("are all true",),
                 id="tensorflow-all-three"),
    pytest.param({"sagemaker_mpi_enabled": True, "sagemaker_mpi_num_processes": "two"}, TENSORFLOW,
                 ("'sagemaker_mpi_num_processes'", "'two'"), id="tensorflow-bad-count"),
]


@pytest.mark.parametrize(("hyperparameters", "env", "expected"), ERRORS)
def test_errors_name_the_file_and_the_key(
    tmp_path: Path, hyperparameters: dict[str, Any], env: dict[str, str], expected: tuple[str, ...]
) -> None:
    error = load_error(tmp_path, hyperparameters, env, TWO_HOSTS)
    assert error.source == str(tmp_path / "ml" / "input" / "config" / "hyperparameters.json")
    for part in expected:
        assert part in error.message
    assert error.exit_code == 1


def test_parameter_servers_and_mirrored_strategy_contradict_even_on_one_host(tmp_path: Path) -> None:
    error = load_error(tmp_path, {"sagemaker_parameter_server_enabled": True,
                                  "sagemaker_multi_worker_mirrored_strategy_enabled": True}, TENSORFLOW)
    assert "both true" in error.message


def test_an_adapter_refuses_a_job_whose_keys_it_did_not_get(tmp_path: Path) -> None:
    """Reached through a name that is not the registered one, an adapter would silently run MPI jobs plainly."""
    config = load(tmp_path, {"sagemaker_use_mpi": True}, UNREGISTERED)
    with pytest.raises(ConfigError) as raised:
        require_framework(config.distribution, "chainer", config.framework_module)
    assert raised.value.source == "environment variable SAGEMAKER_TRAINING_MODULE"
    assert "'my_toolkit.training:main' is not the training adapter registered for 'chainer'" in raised.value.message
    require_framework(load(tmp_path, {}, CHAINER).distribution, "chainer", CHAINER["SAGEMAKER_TRAINING_MODULE"])
