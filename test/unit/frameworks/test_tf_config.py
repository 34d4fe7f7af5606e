"""TF_CONFIG text, byte for byte, for 1, 2 and 3 hosts in each mode."""

from __future__ import annotations

import pytest

from container_runtime_tensorflow.tf_config import multi_worker_mirrored_tf_config, parameter_server_tf_config

ONE = ["algo-1"]
TWO = ["algo-1", "algo-2"]
THREE = ["algo-1", "algo-2", "algo-3"]


@pytest.mark.parametrize(
    ("hosts", "current", "expected"),
    [
        (ONE, "algo-1",
         '{"cluster": {"master": ["algo-1:2222"]}, "environment": "cloud", "task": {"type": "master", "index": 0}}'),
        (TWO, "algo-1",
         '{"cluster": {"master": ["algo-1:2222"], "ps": ["algo-1:2223", "algo-2:2223"], "worker": ["algo-2:2222"]}, '
         '"environment": "cloud", "task": {"type": "master", "index": 0}}'),
        (TWO, "algo-2",
         '{"cluster": {"master": ["algo-1:2222"], "ps": ["algo-1:2223", "algo-2:2223"], "worker": ["algo-2:2222"]}, '
         '"environment": "cloud", "task": {"type": "worker", "index": 0}}'),
        (THREE, "algo-3",
         '{"cluster": {"master": ["algo-1:2222"], "ps": ["algo-1:2223", "algo-2:2223", "algo-3:2223"], '
         '"worker": ["algo-2:2222", "algo-3:2222"]}, "environment": "cloud", "task": {"type": "worker", "index": 1}}'),
    ],
)
def test_parameter_server_tf_config(hosts: list[str], current: str, expected: str) -> None:
    assert parameter_server_tf_config(hosts, current) == expected


@pytest.mark.parametrize(("current", "index"), [("algo-1", 0), ("algo-2", 1), ("algo-3", 2)])
def test_parameter_server_task(current: str, index: int) -> None:
    config = parameter_server_tf_config(THREE, current, ps_task=True)
    assert config.endswith(f'"environment": "cloud", "task": {{"type": "ps", "index": {index}}}}}')


def test_a_single_host_has_no_parameter_server_task() -> None:
    with pytest.raises(ValueError, match="more than one host"):
        parameter_server_tf_config(ONE, "algo-1", ps_task=True)


@pytest.mark.parametrize(
    ("hosts", "current", "expected"),
    [
        (ONE, "algo-1", '{"cluster": {"worker": ["algo-1:8890"]}, "environment": "cloud", "task": {"index": 0, "type": "worker"}}'),
        (TWO, "algo-2",
         '{"cluster": {"worker": ["algo-1:8890", "algo-2:8890"]}, "environment": "cloud", "task": {"index": 1, "type": "worker"}}'),
        (THREE, "algo-3",
         '{"cluster": {"worker": ["algo-1:8890", "algo-2:8890", "algo-3:8890"]}, "environment": "cloud", '
         '"task": {"index": 2, "type": "worker"}}'),
    ],
)
def test_multi_worker_mirrored_tf_config(hosts: list[str], current: str, expected: str) -> None:
    assert multi_worker_mirrored_tf_config(hosts, current) == expected
