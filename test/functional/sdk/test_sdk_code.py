"""What code and data a job gets through the SDK layer: only the entry point's file without a
source dir (as the SDK packs it), `dependencies` beside it, `model_uri` as the `model` channel."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

import container_runtime.sdk as sagemaker
from container_runtime.sdk.estimator import Estimator

SCRIPT = textwrap.dedent("""
    import json, os, sys
    from helpers.values import VALUE
    here = os.path.dirname(os.path.abspath(__file__))
    print("seen " + json.dumps({"code": sorted(os.listdir(here)), "value": VALUE,
                                "model": sorted(os.listdir(os.environ["SM_CHANNEL_MODEL"]))}), flush=True)
""")


def test_entry_point_file_dependencies_and_model_uri(tmp_path: Path, home: Path, monkeypatch: pytest.MonkeyPatch,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    work = tmp_path / "notebook"
    (work / "data").mkdir(parents=True)
    (work / "data" / "big.bin").write_bytes(b"0" * 1024)  # beside the script, as in a notebook's cwd
    (work / "script.py").write_text(SCRIPT)
    helpers = tmp_path / "lib" / "helpers"
    helpers.mkdir(parents=True)
    (helpers / "__init__.py").write_text("")
    (helpers / "values.py").write_text("VALUE = 42\n")
    pretrained = tmp_path / "pretrained"
    pretrained.mkdir()
    (pretrained / "weights.npz").write_bytes(b"w")
    monkeypatch.chdir(work)

    estimator = Estimator(entry_point="script.py", role=sagemaker.get_execution_role(), instance_count=1,
                          instance_type="local", dependencies=[str(helpers)], model_uri=pretrained.as_uri())
    assert estimator.fit() is None  # as the SDK's
    assert estimator.latest_training_job.status == "Completed"
    line = next(line for line in capsys.readouterr().out.splitlines() if "seen {" in line)
    seen = json.loads(line.split("seen ", 1)[1])
    assert seen == {"code": ["helpers", "script.py"], "value": 42, "model": ["weights.npz"]}


def test_fit_without_waiting_runs_in_the_background(tmp_path: Path, home: Path) -> None:
    from container_runtime.local.estimator import TrainingJobFailed

    script = tmp_path / "slow.py"
    script.write_text("import os, sys, time\ntime.sleep(1)\nsys.exit(int(os.environ.get('SM_HP_FAIL', '0')))\n")
    estimator = Estimator(entry_point=str(script), role="r", instance_count=1, instance_type="local",
                          base_job_name="background")
    assert estimator.fit(wait=False, logs=False) is None
    job = estimator.latest_training_job
    assert job.name.startswith("background-") and job.describe()["TrainingJobStatus"] == "InProgress"
    job.wait()
    assert job.status == "Completed" and Path(estimator.model_data).name == "model.tar.gz"

    failing = Estimator(entry_point=str(script), role="r", instance_count=1, instance_type="local",
                        hyperparameters={"fail": 3})
    failing.fit(wait=False, logs=False)
    with pytest.raises(TrainingJobFailed, match="failed"):
        failing.latest_training_job.wait()
