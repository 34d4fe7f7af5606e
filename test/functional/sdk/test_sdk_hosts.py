"""`instance_count` > 1 through the SDK layer: several namespace hosts with MPI as root, and a
one-line error naming the count where this machine cannot make them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from container_runtime.local.errors import LocalModeError
from container_runtime.sdk.chainer.estimator import Chainer
from container_runtime.sdk.estimator import Estimator
from harness.hosts import can_run_mpi_across_hosts

REPO = Path(__file__).resolve().parents[3]
SCRIPTS = REPO / "test" / "scripts"


def test_several_hosts_where_they_cannot_be_made_is_one_line(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from container_runtime.local.backends import netns

    monkeypatch.setattr(netns, "can_make_hosts", lambda: "several hosts on one machine need root")
    estimator = Estimator(entry_point=str(REPO / "examples" / "quickstart" / "train.py"), role="r",
                          instance_count=2, instance_type="ml.c5.xlarge")
    with pytest.raises(LocalModeError) as error:
        estimator.fit(logs=False)
    assert str(error.value) == ("instance count 2: several hosts on one machine need root; run as root, "
                                "or use an instance count of 1")
    assert not (home / "jobs").exists() or not list((home / "jobs").iterdir())


@pytest.mark.skipif(can_run_mpi_across_hosts() is not None, reason=str(can_run_mpi_across_hosts()))
def test_chainer_use_mpi_on_two_hosts(home: Path) -> None:
    pytest.importorskip("mpi4py")
    estimator = Chainer(entry_point="mpi_hosts.py", source_dir=str(SCRIPTS), role="r", use_mpi=True,
                        train_instance_count=2, train_instance_type="local")
    estimator.fit(job_name="sdk-two-hosts", logs=False)
    job_dir = Path(estimator.latest_training_job.job_dir)
    assert estimator.latest_training_job.status == "Completed"
    rank = json.loads((job_dir / "hosts" / "algo-2" / "model" / "rank-1.json").read_text())
    assert rank["sm_current_host"] == "algo-2"
