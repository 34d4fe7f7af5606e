"""The dashboard's tests: a home with real records (jobs, a tuning job and an endpoint made by local
mode itself, plus hand-written records where a broken or still-running one is the point), and
plain HTTP requests to the dashboard."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, NamedTuple

from container_runtime.local.dashboard.server import DashboardServer
from container_runtime.local.endpoints import free_port

REPO = Path(__file__).resolve().parents[2]
QUICKSTART = REPO / "examples" / "quickstart"
SERVING_SCRIPTS = REPO / "test" / "scripts" / "serving"
ACCURACY = "accuracy=validation:accuracy=([0-9.]+)"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def cli(home: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """This checkout's `container-runtime` (the installed script may be another checkout's)."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "SAGEMAKER_"))}
    return subprocess.run([sys.executable, "-m", "container_runtime.local.cli", "--home", str(home), *args],
                          capture_output=True, text=True, timeout=timeout, env=environment, check=False)


def run_quickstart(home: Path, name: str, *extra: str) -> None:
    result = cli(home, "run", str(QUICKSTART / "train.py"), "-c", f"train={QUICKSTART / 'data' / 'train.csv'}",
                 "-c", f"test={QUICKSTART / 'data' / 'test.csv'}", "-H", "epochs=3", "--metric", ACCURACY,
                 "--job-name", name, *extra)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr


def running_job(jobs_dir: Path, name: str, lines: list[str]) -> Path:
    """A job as local mode leaves it while it runs: an InProgress record and a log still growing."""
    root = jobs_dir / name
    (root / "logs").mkdir(parents=True)
    record = {
        "TrainingJobName": name, "TrainingJobStatus": "InProgress", "FailureReason": None,
        "HyperParameters": {"epochs": "100"},
        "AlgorithmSpecification": {"TrainingImage": "generic", "MetricDefinitions": [
            {"Name": "loss", "Regex": r"loss=([0-9.]+)"}]},
        "InputDataConfig": [{"ChannelName": "train", "DataUri": "/data/train"}],
        "ResourceConfig": {"InstanceCount": 1, "InstanceType": "local"}, "Backend": "local",
        "CreationTime": "2099-01-01T00:00:00.000+00:00", "TrainingStartTime": "2099-01-01T00:00:00.000+00:00",
        "TrainingTimeInSeconds": None, "FinalMetricDataList": [], "JobDir": str(root), "Hosts": {},
    }
    (root / "describe.json").write_text(json.dumps(record))
    (root / "logs" / "algo-1.log").write_text("".join(line + "\n" for line in lines))
    return root


class Records(NamedTuple):
    home: Path
    endpoint: str
    tuning_job: str


def make_records(home: Path) -> Records:
    """Real jobs, a 5-trial tuning job and a running endpoint in `home` (stop it when done)."""
    import numpy as np

    from container_runtime.local import Estimator
    from container_runtime.local.tuning.ranges import CategoricalParameter, ContinuousParameter
    from container_runtime.local.tuning.tuner import HyperparameterTuner

    jobs = home / "jobs"
    run_quickstart(home, "finished")
    failed = cli(home, "run", str(REPO / "test" / "scripts" / "raise_error.py"), "--job-name", "failed")
    assert failed.returncode == 1, failed.stderr
    running_job(jobs, "running", [f"epoch={n} loss={1 / n:.4f}" for n in range(1, 4)])
    (jobs / "half-written").mkdir()
    (jobs / "half-written" / "describe.json").write_text('{"TrainingJobName": "half-wr')
    (jobs / "no-record").mkdir()
    (jobs / "a-list").mkdir()
    (jobs / "a-list" / "describe.json").write_text("[1, 2]")

    tuner = HyperparameterTuner(
        Estimator(str(REPO / "examples" / "tuning" / "branin.py"), jobs_dir=jobs, endpoints_dir=home / "endpoints",
                  console=None),
        "branin", {"x1": ContinuousParameter(-5, 10), "x2": ContinuousParameter(0, 15),
                   "mode": CategoricalParameter.of(["a", "b"])},
        [{"Name": "branin", "Regex": r"branin = ([-0-9.]+)"}], strategy="Random", objective_type="Minimize",
        max_jobs=5, max_parallel_jobs=2, random_seed=7, console=None,
    )
    assert tuner.fit(job_name="branin-tuning").status == "Completed"
    (home / "tuning" / "broken-tuning").mkdir()
    (home / "tuning" / "broken-tuning" / "journal.log").write_text("this is not a journal\n")
    (home / "tuning" / "no-study").mkdir()

    model = home / "model"
    model.mkdir()
    np.save(model / "weights.npy", np.arange(6, dtype=np.float32).reshape(3, 2))
    deployed = cli(home, "deploy", "--model-data", str(model), "--entry-point", "linear_model.py",
                   "--source-dir", str(SERVING_SCRIPTS), "--port", str(free_port()), "--name", "linear")
    assert deployed.returncode == 0, deployed.stderr
    (home / "endpoints" / "garbled").mkdir()
    (home / "endpoints" / "garbled" / "endpoint.json").write_text('{"name": "garbled"')
    return Records(home, "linear", "branin-tuning")


class Dashboard(NamedTuple):
    server: DashboardServer
    token: str

    @property
    def url(self) -> str:
        return self.server.url


class Answer(NamedTuple):
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def http(url: str, *, method: str = "GET", data: bytes | None = None,
         headers: dict[str, str] | None = None) -> Answer:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with NO_PROXY.open(request, timeout=30) as response:
            return Answer(response.status, dict(response.headers), response.read())
    except urllib.error.HTTPError as error:
        with error:
            return Answer(error.code, dict(error.headers), error.read())
