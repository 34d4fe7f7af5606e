"""A rank on a worker host takes that host's identity, though mpirun exported the master's."""

from __future__ import annotations

import json
import socket
import sys
import types
from pathlib import Path

import pytest

from container_runtime.launch.rank import adopt_this_hosts_identity, answer_host_name


def master_environment(config_dir: Path) -> dict[str, str]:
    training_env = {"current_host": "algo-1", "master_hostname": "algo-1", "is_master": True, "hosts": ["algo-1", "algo-2"]}
    return {
        "SM_INPUT_CONFIG_DIR": str(config_dir),
        "SM_CURRENT_HOST": "algo-1",
        "SM_CURRENT_INSTANCE_GROUP": "homogeneousCluster",
        "SM_RESOURCE_CONFIG": json.dumps({"current_host": "algo-1"}),
        "SM_TRAINING_ENV": json.dumps(training_env),
        "CURRENT_HOST": "algo-1",
        "SM_CURRENT_HOST_RANK": "0",
    }


def test_a_worker_rank_sees_its_own_host(tmp_path: Path) -> None:
    resource = {"current_host": "algo-2", "hosts": ["algo-1", "algo-2"], "current_group_name": "train",
                "instance_groups": [{"instance_group_name": "train", "hosts": ["algo-1", "algo-2"]}]}
    (tmp_path / "resourceconfig.json").write_text(json.dumps(resource))
    environ = master_environment(tmp_path)
    assert adopt_this_hosts_identity(environ) == "algo-2"
    assert environ["SM_CURRENT_HOST"] == environ["CURRENT_HOST"] == "algo-2"
    assert environ["SM_CURRENT_HOST_RANK"] == "1"
    assert environ["SM_CURRENT_INSTANCE_GROUP"] == "train"
    assert json.loads(environ["SM_RESOURCE_CONFIG"]) == resource
    training_env = json.loads(environ["SM_TRAINING_ENV"])
    assert training_env["current_host"] == "algo-2"
    assert training_env["is_master"] is False
    assert training_env["current_instance_group_hosts"] == ["algo-1", "algo-2"]


def test_the_masters_ranks_and_unknown_layouts_are_left_alone(tmp_path: Path) -> None:
    (tmp_path / "resourceconfig.json").write_text(json.dumps({"current_host": "algo-1"}))
    environ = master_environment(tmp_path)
    before = dict(environ)
    assert adopt_this_hosts_identity(environ) == "algo-1"
    assert environ == before
    missing = master_environment(tmp_path / "nowhere")
    assert adopt_this_hosts_identity(missing) is None


def test_python_sees_the_host_name_where_the_os_name_differs(monkeypatch: pytest.MonkeyPatch) -> None:
    fake_mpi = types.ModuleType("mpi4py.MPI")
    fake_mpi.Get_processor_name = lambda: "container-1234"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "mpi4py.MPI", fake_mpi)
    monkeypatch.setattr(socket, "gethostname", lambda: "container-1234")
    answer_host_name("algo-2")
    assert socket.gethostname() == "algo-2"
    assert fake_mpi.Get_processor_name() == "algo-2"  # type: ignore[attr-defined]
