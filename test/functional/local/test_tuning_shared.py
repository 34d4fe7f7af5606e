"""Two tuner processes (think: two machines) share one tuning job through a real PostgreSQL
server that the test starts: they split the budget and never run the same trial twice."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from harness.local_cli import cli_command
from harness.postgres import can_run_postgres, running_postgres

pytest.importorskip("optuna")
reason = can_run_postgres()
if reason is not None:
    pytest.skip(reason, allow_module_level=True)
BRANIN = Path(__file__).resolve().parents[3] / "examples" / "tuning" / "branin.py"


def tune_command(home: Path, url: str) -> list[str]:
    command = cli_command()
    return [*command, "--home", str(home), "tune", str(BRANIN), "--range", "x1=continuous:-5:10",
            "--range", "x2=continuous:0:15", "--objective", "branin", "--objective-type", "Minimize",
            "--metric", "branin=branin = ([-0-9.]+)", "--strategy", "Random", "--max-jobs", "6",
            "--max-parallel-jobs", "1", "--storage", url, "--job-name", "shared-branin"]


def test_two_tuners_share_the_budget_and_run_disjoint_trials(tmp_path: Path) -> None:
    with running_postgres(tmp_path) as server:
        env = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "SAGEMAKER_"))}
        homes = [tmp_path / "machine-a", tmp_path / "machine-b"]
        processes = [subprocess.Popen(tune_command(home, server.url), env=env, stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True) for home in homes]
        outputs = [process.communicate(timeout=180) for process in processes]
        for process, (stdout, stderr) in zip(processes, outputs, strict=True):
            assert process.returncode == 0, stdout + stderr
        assert any("Joined tuning job shared-branin" in stdout for stdout, _ in outputs)
        ran = [sorted(path.name for path in (home / "tuning" / "shared-branin" / "jobs").iterdir()) for home in homes]
        assert ran[0] and ran[1], ran  # both machines did work
        assert not set(ran[0]) & set(ran[1])
        assert len(ran[0]) + len(ran[1]) == 6
        described = subprocess.run([*tune_command(homes[0], server.url)[:3], "tuning", "describe", "shared-branin",
                                    "--storage", server.url], capture_output=True, text=True, env=env, check=True)
        description = json.loads(described.stdout)
        assert description["TrainingJobStatusCounters"]["Completed"] == 6
        assert description["HyperParameterTuningJobStatus"] == "Completed"
        numbers = sorted(name.rsplit("-", 2)[1] for names in ran for name in names)
        assert numbers == ["001", "002", "003", "004", "005", "006"]
