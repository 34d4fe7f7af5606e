"""Hyperparameter decoding (contract §2.1) and the reserved/framework/user split (§2.2, §2.5)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from container_runtime.config.hyperparameters import (
    RESERVED_NAMES,
    decode_hyperparameters,
    decode_value,
    split_hyperparameters,
)

# (raw value in hyperparameters.json, decoded value) — the table of contract §2.1.
DECODE_TABLE = [
    pytest.param("3", 3, id="int"),
    pytest.param("-12", -12, id="negative-int"),
    pytest.param("0.001", 0.001, id="float"),
    pytest.param("1e-3", 0.001, id="float-exponent"),
    pytest.param("1.0", 1.0, id="float-one-point-zero"),
    pytest.param("true", True, id="true"),
    pytest.param("false", False, id="false"),
    pytest.param("null", None, id="null"),
    pytest.param('"abc"', "abc", id="quoted-string"),
    pytest.param('"true"', "true", id="quoted-true-stays-string"),
    pytest.param("hello world", "hello world", id="not-json-kept-raw"),
    pytest.param("True", "True", id="python-bool-not-json"),
    pytest.param("", "", id="empty-string-kept"),
    pytest.param('[1, 2, "x"]', [1, 2, "x"], id="list"),
    pytest.param('{"a": 1, "b": [1, 2]}', {"a": 1, "b": [1, 2]}, id="dict"),
    pytest.param("007", "007", id="leading-zeros-not-json"),
    pytest.param(" 3 ", 3, id="json-whitespace-allowed"),
    pytest.param('"\\u00e9"', "\u00e9", id="unicode-escape"),
    pytest.param(3, 3, id="non-string-int"),
    pytest.param(2.5, 2.5, id="non-string-float"),
    pytest.param(True, True, id="non-string-bool"),
    pytest.param(None, None, id="non-string-null"),
    pytest.param([1, "2"], [1, "2"], id="non-string-list-untouched"),
    pytest.param({"a": "1"}, {"a": "1"}, id="non-string-dict-untouched"),
    pytest.param(b"2", 2, id="bytes-json"),
    pytest.param(b"abc", b"abc", id="bytes-not-json-kept"),
    pytest.param(b"\xff", b"\xff", id="bytes-invalid-utf8-kept"),
]


@pytest.mark.parametrize("raw, expected", DECODE_TABLE)
def test_decode_value(raw: Any, expected: Any) -> None:
    decoded = decode_value(raw)
    assert decoded == expected
    assert type(decoded) is type(expected)


@pytest.mark.parametrize(
    "raw, check",
    [
        pytest.param("NaN", math.isnan, id="nan"),
        pytest.param("Infinity", lambda value: value == math.inf, id="infinity"),
        pytest.param("-Infinity", lambda value: value == -math.inf, id="minus-infinity"),
    ],
)
def test_decode_value_non_finite_floats(raw: str, check: Any) -> None:
    decoded = decode_value(raw)
    assert isinstance(decoded, float)
    assert check(decoded)


def test_decode_value_keeps_the_same_object_for_non_strings() -> None:
    value = {"nested": [1]}
    assert decode_value(value) is value


def test_decode_hyperparameters_decodes_each_value_and_keeps_file_order() -> None:
    raw = {"zeta": "3", "alpha": '"a"', "mid": "hello world", "beta": "[1]", "": "null"}
    decoded = decode_hyperparameters(raw)
    assert list(decoded) == ["zeta", "alpha", "mid", "beta", ""]
    assert decoded == {"zeta": 3, "alpha": "a", "mid": "hello world", "beta": [1], "": None}


def test_decode_hyperparameters_of_nothing_is_empty() -> None:
    assert decode_hyperparameters({}) == {}


CONTRACT_RESERVED = (
    "sagemaker_program",
    "sagemaker_submit_directory",
    "sagemaker_enable_cloudwatch_metrics",
    "sagemaker_region",
    "sagemaker_container_log_level",
    "sagemaker_job_name",
    "default_user_module_name",
    "_tuning_objective_metric",
    "sagemaker_s3_output",
)


def test_reserved_names_are_exactly_the_contract_tuple() -> None:
    assert frozenset(CONTRACT_RESERVED) == RESERVED_NAMES


@pytest.mark.parametrize(
    "name, side",
    [
        *[pytest.param(name, "reserved", id=name) for name in CONTRACT_RESERVED],
        pytest.param("sagemaker_mpi_enabled", "framework", id="sagemaker_mpi_enabled"),
        pytest.param("sagemaker_distribution_instance_groups", "framework", id="distribution-groups"),
        pytest.param("sagemaker_cli_style", "framework", id="sagemaker_cli_style"),
        pytest.param("sagemaker_", "framework", id="bare-prefix"),
        pytest.param("sagemaker_network_interface_name", "framework", id="unused-platform-name"),
        pytest.param("epochs", "user", id="plain"),
        pytest.param("SageMaker_program", "user", id="prefix-is-case-sensitive"),
        pytest.param("sagemaker-program", "user", id="dash-not-prefix"),
        pytest.param("sagemaker", "user", id="no-underscore"),
        pytest.param("my_sagemaker_program", "user", id="prefix-not-at-start"),
        pytest.param("tuning_objective_metric", "user", id="tuning-without-underscore"),
        pytest.param("mp_parameters", "user", id="mp_parameters-is-user"),
        pytest.param("", "user", id="empty-name"),
    ],
)
def test_split_puts_each_name_on_one_side(name: str, side: str) -> None:
    split = split_hyperparameters({name: 1})
    sides = {"user": split.user, "reserved": split.reserved, "framework": split.framework}
    assert {key: dict(value) for key, value in sides.items() if value} == {side: {name: 1}}


def test_split_keeps_order_and_values_on_each_side() -> None:
    decoded = {
        "b": 2,
        "sagemaker_mpi_enabled": True,
        "sagemaker_program": "train.py",
        "a": [1],
        "_tuning_objective_metric": "loss",
        "sagemaker_distributed_dataparallel_enabled": False,
        "c": None,
    }
    split = split_hyperparameters(decoded)
    assert list(split.user.items()) == [("b", 2), ("a", [1]), ("c", None)]
    assert list(split.reserved.items()) == [
        ("sagemaker_program", "train.py"),
        ("_tuning_objective_metric", "loss"),
    ]
    assert list(split.framework.items()) == [
        ("sagemaker_mpi_enabled", True),
        ("sagemaker_distributed_dataparallel_enabled", False),
    ]


def test_split_sides_are_read_only() -> None:
    split = split_hyperparameters({"a": 1, "sagemaker_program": "x", "sagemaker_mpi_enabled": True})
    for side in (split.user, split.reserved, split.framework):
        with pytest.raises(TypeError):
            side["new"] = 1  # type: ignore[index]
