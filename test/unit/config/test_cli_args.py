"""`render_cli_args`: the contract rendering of §2.3 and the opt-in JSON style."""

from __future__ import annotations

import math
from typing import Any

import pytest

from container_runtime.config.cli_args import render_cli_args
from container_runtime.config.hyperparameters import decode_hyperparameters
from container_runtime.errors import ConfigError

CONTRACT_CASES = [
    # The exact examples of contract §2.3.
    pytest.param(
        {"da-sh": "1", "un_der": "2", "un-sh": "3", "da_der": "2"},
        ["--da-sh", "1", "--da_der", "2", "--un-sh", "3", "--un_der", "2"],
        id="contract-example-dash-underscore",
    ),
    pytest.param(
        decode_hyperparameters({"U": "1", "b": b"2", "T": "", "": "42"}),
        ["", "42", "-T", "", "-U", "1", "-b", "2"],
        id="contract-example-short-and-empty-names-decoded",
    ),
    pytest.param(
        {"U": "1", "b": b"2", "T": "", "": "42"},
        ["", "42", "-T", "", "-U", "1", "-b", "2"],
        id="contract-example-short-and-empty-names-raw",
    ),
    pytest.param(
        {"truthy": True, "falsy": False},
        ["--falsy", "False", "--truthy", "True"],
        id="contract-example-bools",
    ),
    # Value rendering, §2.1 right-hand column.
    pytest.param({"lr": 0.001}, ["--lr", "0.001"], id="float"),
    pytest.param({"lr": 1e-3}, ["--lr", "0.001"], id="float-exponent"),
    pytest.param({"val": 4.0}, ["--val", "4.0"], id="float-whole"),
    pytest.param({"val": 1e20}, ["--val", "1e+20"], id="float-large"),
    pytest.param({"val": math.nan}, ["--val", "nan"], id="nan"),
    pytest.param({"val": math.inf}, ["--val", "inf"], id="inf"),
    pytest.param({"epochs": 3}, ["--epochs", "3"], id="int"),
    pytest.param({"val": None}, ["--val", ""], id="none-is-empty"),
    pytest.param({"val": "hello world"}, ["--val", "hello world"], id="string-with-space-one-element"),
    pytest.param({"val": "$(rm -rf /); `x` 'q'"}, ["--val", "$(rm -rf /); `x` 'q'"], id="shell-chars-verbatim"),
    pytest.param({"val": ""}, ["--val", ""], id="empty-string"),
    pytest.param({"val": [1, 2, "x"]}, ["--val", "[1, 2, 'x']"], id="list-python-repr"),
    pytest.param({"val": []}, ["--val", "[]"], id="empty-list"),
    pytest.param({"val": {"b": [1, 2], "a": 1}}, ["--val", "a=1,b=[1, 2]"], id="dict-sorted-k=v"),
    pytest.param(
        {"val": {"a": True, "b": None, "c": {"d": 1}}}, ["--val", "a=True,b=None,c={'d': 1}"], id="dict-nested-str"
    ),
    pytest.param({"val": {}}, ["--val", ""], id="empty-dict"),
    pytest.param({"val": b"caf\xe9"}, ["--val", "caf\u00e9"], id="bytes-latin-1"),
    pytest.param({"val": bytearray(b"ab")}, ["--val", "ab"], id="bytearray-latin-1"),
    pytest.param({"val": "\u00e9\u4e2d"}, ["--val", "\u00e9\u4e2d"], id="unicode-verbatim"),
    pytest.param({"val": "\udc80"}, ["--val", "\udc80"], id="surrogateescape-byte-allowed"),
    # Names.
    pytest.param({"learning-rate": 1}, ["--learning-rate", "1"], id="name-verbatim-dash"),
    pytest.param({"lr_rate": 1}, ["--lr_rate", "1"], id="name-verbatim-underscore"),
    pytest.param({"k": 1}, ["-k", "1"], id="one-char-single-dash"),
    pytest.param({"\u00e9": 1}, ["-\u00e9", "1"], id="one-non-ascii-char-single-dash"),
    pytest.param(
        {"b": 1, "B": 2, "a": 3, "_": 4, "10": 5, "9": 6},
        ["--10", "5", "-9", "6", "-B", "2", "-_", "4", "-a", "3", "-b", "1"],
        id="python-string-order",
    ),
    pytest.param({}, [], id="empty"),
]


@pytest.mark.parametrize("hyperparameters, expected", CONTRACT_CASES)
def test_contract_style(hyperparameters: dict[str, Any], expected: list[str]) -> None:
    assert render_cli_args(hyperparameters, "contract") == expected


JSON_CASES = [
    pytest.param(
        {"zeta": 1, "alpha": 2, "mid": 3},
        ["--zeta", "1", "--alpha", "2", "--mid", "3"],
        id="file-order-kept",
    ),
    pytest.param({"val": [1, 2, "x"]}, ["--val", '[1, 2, "x"]'], id="list-json"),
    pytest.param(
        {"val": {"b": 1, "a": [True, None]}}, ["--val", '{"b": 1, "a": [true, null]}'], id="dict-json-order-kept"
    ),
    pytest.param({"flag": True, "off": False}, ["--flag", "true", "--off", "false"], id="bools-json"),
    pytest.param({"val": None}, ["--val", "null"], id="null"),
    pytest.param({"val": "hello world"}, ["--val", "hello world"], id="string-raw"),
    pytest.param({"val": '"quoted"'}, ["--val", '"quoted"'], id="string-not-re-encoded"),
    pytest.param({"val": ""}, ["--val", ""], id="empty-string"),
    pytest.param({"n": 3, "f": 0.001, "g": 4.0}, ["--n", "3", "--f", "0.001", "--g", "4.0"], id="numbers"),
    pytest.param({"val": ["\u00e9"]}, ["--val", '["\u00e9"]'], id="unicode-not-escaped"),
    pytest.param({"k": 1, "lr": 2}, ["--k", "1", "--lr", "2"], id="names-always-double-dash-as-sdk-v3"),
]


@pytest.mark.parametrize("hyperparameters, expected", JSON_CASES)
def test_json_style(hyperparameters: dict[str, Any], expected: list[str]) -> None:
    assert render_cli_args(hyperparameters, "json") == expected


def test_json_style_from_decoded_file_values() -> None:
    decoded = decode_hyperparameters({"b": "[1, 2]", "a": "true", "c": '"s"', "d": "007", "e": "null"})
    assert render_cli_args(decoded, "json") == [
        "--b",
        "[1, 2]",
        "--a",
        "true",
        "--c",
        "s",
        "--d",
        "007",
        "--e",
        "null",
    ]


UNREPRESENTABLE = [
    pytest.param("both", "val", "a\x00b", "NUL", id="nul-in-value"),
    pytest.param("both", "bad\x00key", "1", "NUL", id="nul-in-key"),
    pytest.param("both", "\x00", "1", "NUL", id="nul-as-one-char-key"),
    pytest.param("both", "val", "\ud800", "cannot be passed", id="lone-high-surrogate-in-value"),
    pytest.param("both", "val", "ok\udfffok", "cannot be passed", id="lone-low-surrogate-in-value"),
    pytest.param("both", "k\ud800", "1", "cannot be passed", id="lone-surrogate-in-key"),
    pytest.param("contract", "val", {"k": "a\x00"}, "NUL", id="nul-in-dict-contract"),
    pytest.param("contract", "val", {"k\ud800": 1}, "cannot be passed", id="surrogate-in-dict-key-contract"),
    pytest.param("contract", "val", b"a\x00b", "NUL", id="nul-in-bytes-contract"),
    pytest.param("json", "val", ["\ud800"], "cannot be passed", id="lone-surrogate-in-list-json"),
    pytest.param("json", "val", {"k": "\ud800"}, "cannot be passed", id="lone-surrogate-in-dict-json"),
]


@pytest.mark.parametrize("styles, key, value, problem", UNREPRESENTABLE)
def test_unrepresentable_values_raise_config_error_naming_the_hyperparameter(
    styles: str, key: str, value: Any, problem: str
) -> None:
    for style in ("contract", "json") if styles == "both" else (styles,):
        _assert_unrepresentable(style, key, value, problem)


@pytest.mark.parametrize(
    "style, value, expected",
    [
        # Python repr and JSON escape these, so the rendered argument is representable.
        pytest.param("contract", ["\ud800", "\x00"], "['\\ud800', '\\x00']", id="list-repr-escapes"),
        pytest.param("json", ["\x00"], '["\\u0000"]', id="json-escapes-nul"),
    ],
)
def test_escaped_renderings_are_accepted(style: str, value: Any, expected: str) -> None:
    assert render_cli_args({"val": value}, style) == ["--val", expected]  # type: ignore[arg-type]


def _assert_unrepresentable(style: str, key: str, value: Any, problem: str) -> None:
    hyperparameters = {"fine": 1, key: value}
    with pytest.raises(ConfigError) as raised:
        render_cli_args(hyperparameters, style, source="/x/hyperparameters.json")  # type: ignore[arg-type]
    error = raised.value
    assert error.source == "/x/hyperparameters.json"
    assert f"hyperparameter {key!r}" in error.message
    assert problem in error.message


def test_default_source_is_hyperparameters_json() -> None:
    with pytest.raises(ConfigError) as raised:
        render_cli_args({"val": "\x00"}, "contract")
    assert raised.value.source == "hyperparameters.json"


def test_unrepresentable_message_truncates_long_values() -> None:
    with pytest.raises(ConfigError) as raised:
        render_cli_args({"val": "y" * 1000 + "\x00"}, "contract")
    assert len(str(raised.value)) < 200
