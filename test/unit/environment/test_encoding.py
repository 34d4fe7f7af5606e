"""`encode_env_value` (contract §1.5 value encoding), `is_shell_name`, `shell_safe_name`."""

from __future__ import annotations

import math
from typing import Any

import pytest

from container_runtime.environment.encoding import encode_env_value, is_shell_name, shell_safe_name

ENCODE_TABLE = [
    pytest.param(None, "", id="none-empty"),
    pytest.param("", "", id="empty-string"),
    pytest.param("hello world", "hello world", id="string-raw"),
    pytest.param('"quoted"', '"quoted"', id="string-not-json-encoded"),
    pytest.param("caf\u00e9", "caf\u00e9", id="string-unicode-raw"),
    pytest.param("3", "3", id="numeric-string-raw"),
    pytest.param(b"abc", "abc", id="bytes"),
    pytest.param(b"caf\xe9\xff", "caf\u00e9\u00ff", id="bytes-latin-1"),
    pytest.param(bytearray(b"x\x80"), "x\u0080", id="bytearray-latin-1"),
    pytest.param(True, "true", id="true"),
    pytest.param(False, "false", id="false"),
    pytest.param(0, "0", id="zero"),
    pytest.param(3, "3", id="int"),
    pytest.param(-7, "-7", id="negative-int"),
    pytest.param(10**20, "100000000000000000000", id="big-int"),
    pytest.param(0.001, "0.001", id="float"),
    pytest.param(4.0, "4.0", id="whole-float"),
    pytest.param(1e20, "1e+20", id="float-exponent"),
    pytest.param(math.nan, "NaN", id="nan"),
    pytest.param(math.inf, "Infinity", id="infinity"),
    pytest.param([1, 2, "x"], '[1,2,"x"]', id="list-compact"),
    pytest.param([], "[]", id="empty-list"),
    pytest.param((1, 2), "[1,2]", id="tuple-as-list"),
    pytest.param([None, True, 1.5], "[null,true,1.5]", id="list-json-scalars"),
    pytest.param({"b": 1, "a": 2}, '{"a":2,"b":1}', id="dict-sorted"),
    pytest.param({}, "{}", id="empty-dict"),
    pytest.param(
        {"z": {"y": [1, {"b": None, "a": "x"}], "x": True}, "a": []},
        '{"a":[],"z":{"x":true,"y":[1,{"a":"x","b":null}]}}',
        id="nested-dict-sorted-compact",
    ),
    pytest.param(["caf\u00e9"], '["caf\\u00e9"]', id="unicode-escaped-in-list"),
    pytest.param({"\u4e2d": "\u00e9"}, '{"\\u4e2d":"\\u00e9"}', id="unicode-escaped-key-and-value"),
    pytest.param(["\U0001f600"], '["\\ud83d\\ude00"]', id="astral-as-surrogate-pair"),
    pytest.param(["a\x00b\n"], '["a\\u0000b\\n"]', id="control-chars-escaped"),
]


@pytest.mark.parametrize("value, expected", ENCODE_TABLE)
def test_encode_env_value(value: Any, expected: str) -> None:
    encoded = encode_env_value(value)
    assert encoded == expected
    assert isinstance(encoded, str)


@pytest.mark.parametrize(
    "name, expected",
    [
        pytest.param("SM_HP_LR", True, id="plain"),
        pytest.param("_", True, id="underscore"),
        pytest.param("_x1", True, id="leading-underscore"),
        pytest.param("a", True, id="one-letter"),
        pytest.param("lower_case9", True, id="lower-case-digits"),
        pytest.param("", False, id="empty"),
        pytest.param("1ABC", False, id="leading-digit"),
        pytest.param("SM_HP_LEARNING-RATE", False, id="dash"),
        pytest.param("SM_HP_A.B", False, id="dot"),
        pytest.param("SM_HP_A B", False, id="space"),
        pytest.param("SM_HP_A=B", False, id="equals"),
        pytest.param("SM_HP_\u00c9", False, id="non-ascii-letter"),
        pytest.param("SM_HP_X\n", False, id="trailing-newline"),
    ],
)
def test_is_shell_name(name: str, expected: bool) -> None:
    assert is_shell_name(name) is expected


@pytest.mark.parametrize(
    "name, expected",
    [
        pytest.param("SM_HP_LEARNING-RATE", "SM_HP_LEARNING_RATE", id="dash"),
        pytest.param("SM_HP_A.B", "SM_HP_A_B", id="dot"),
        pytest.param("SM_HP_A B", "SM_HP_A_B", id="space"),
        pytest.param("SM_HP_A=B", "SM_HP_A_B", id="equals"),
        pytest.param("SM_HP_\u00c9T\u00c9", "SM_HP__T_", id="non-ascii-each-char"),
        pytest.param("SM_HP_A--B", "SM_HP_A__B", id="each-char-replaced"),
        pytest.param("SM_HP_OK", "SM_HP_OK", id="already-safe-unchanged"),
        pytest.param("", "", id="empty"),
    ],
)
def test_shell_safe_name(name: str, expected: str) -> None:
    assert shell_safe_name(name) == expected


@pytest.mark.parametrize("name", ["SM_HP_LEARNING-RATE", "SM_CHANNEL_TRAIN.DATA", "SM_HP_\u00e9", "SM_HP_A=B"])
def test_shell_safe_name_of_an_sm_name_is_a_shell_name(name: str) -> None:
    assert is_shell_name(shell_safe_name(name))
