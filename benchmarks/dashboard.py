#!/usr/bin/env python
"""Benchmark the dashboard's two biggest pages on a full home: 1,000 recorded training jobs and a
500-trial tuning job, with the records written directly (no job runs).

Why: the jobs page polls every 2 s while jobs run, and a tuning page is opened on jobs of
hundreds of trials; each must answer in under 300 ms or the page stutters.

Measured in one process, against the dashboard's HTTP server on 127.0.0.1:

* baseline: the CLI's own reading of the same records (`container-runtime jobs`, `tuning describe`)
* GET /api/jobs and GET /api/tuning/NAME: the first request (nothing cached), the median of
  `--repeats` polls, and the first request after the records change (a job's record rewritten,
  a trial added to the journal), as a page sees while jobs run.

Goals (PASS/FAIL lines after the JSON report; exit status 0 when all pass): the first request,
the median poll and the request after a change each answer in < 300 ms.

    python benchmarks/dashboard.py [--jobs 1000] [--trials 500] [--repeats 10]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[1]
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from container_runtime.local.cli import main as cli_main  # noqa: E402
from container_runtime.local.dashboard.records import Home  # noqa: E402
from container_runtime.local.dashboard.server import make_server  # noqa: E402

GOAL_SECONDS = 0.300
TUNING_JOB = "bench-tuning"
NO_PROXY = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def job_record(name: str, index: int, status: str) -> dict[str, Any]:
    started = 1_790_000_000 + index * 60
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S.000+00:00", time.gmtime(started))
    return {
        "TrainingJobName": name, "TrainingJobStatus": status, "FailureReason": None,
        "HyperParameters": {"epochs": str(index % 10 + 1), "learning-rate": "0.05"},
        "AlgorithmSpecification": {"TrainingImage": "generic", "MetricDefinitions": [
            {"Name": "accuracy", "Regex": "accuracy=([0-9.]+)"}]},
        "InputDataConfig": [{"ChannelName": "train", "DataUri": "/data/train"}],
        "ResourceConfig": {"InstanceCount": 1 + index % 3, "InstanceType": "local"}, "Backend": "local",
        "CreationTime": stamp, "TrainingStartTime": stamp, "TrainingTimeInSeconds": 12.5 + index % 7,
        "FinalMetricDataList": [{"MetricName": "accuracy", "Value": 0.5 + (index % 50) / 100, "Timestamp": stamp}],
        "Hosts": {"algo-1": {"ExitCode": 0}},
    }


def write_jobs(jobs_dir: Path, count: int) -> None:
    for index in range(count):
        name = f"job-{index:05d}"
        (jobs_dir / name / "logs").mkdir(parents=True)
        status = "InProgress" if index == count - 1 else "Completed"
        (jobs_dir / name / "describe.json").write_text(json.dumps(job_record(name, index, status), indent=2))


def write_tuning_job(tuning_root: Path, trials: int) -> Any:
    """A finished tuning job's study as the tuner leaves it: config and status on the study, SageMaker's
    per-job fields on each trial."""
    import optuna

    from container_runtime.local.tuning import records as r
    from container_runtime.local.tuning.storage import open_storage

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    directory = tuning_root / TUNING_JOB
    study = optuna.create_study(study_name=TUNING_JOB, storage=open_storage(None, directory), direction="minimize")
    study.set_user_attr(r.CONFIG, {"ObjectiveType": "Minimize", "ObjectiveMetricName": "loss", "Strategy": "Random",
                                   "MaxJobs": trials, "MaxParallelJobs": 4})
    study.set_user_attr(r.STATUS, "Completed")
    study.set_user_attr(r.COMPLETION_REASON, f"all {trials} training jobs ran")
    distributions = {"lr": optuna.distributions.FloatDistribution(1e-4, 1e-1, log=True),
                     "layers": optuna.distributions.IntDistribution(1, 8),
                     "optimizer": optuna.distributions.CategoricalDistribution(["sgd", "adam"])}
    made = []
    for number in range(trials):
        lr, layers = 10 ** (-4 + 3 * ((number * 37) % 100) / 100), 1 + number % 8
        params: dict[str, Any] = {"lr": lr, "layers": layers, "optimizer": ("sgd", "adam")[number % 2]}
        loss = abs(lr - 0.01) * 10 + layers / 10 + (number % 13) / 100
        made.append(optuna.trial.create_trial(params=params, distributions=distributions, value=loss, user_attrs={
            r.JOB_NAME: f"{TUNING_JOB}-{number + 1:03d}-abcd", r.JOB_STATUS: "Completed",
            r.OBJECTIVE_STATUS: "Succeeded", r.FINAL_VALUE: loss, r.TUNED: params, r.ELAPSED: 3.0,
            r.START_TIME: "2026-12-01T00:00:00.000+00:00", r.END_TIME_TRIAL: "2026-12-01T00:00:03.000+00:00",
            r.OBJECTIVE_SERIES: [[1_790_000_000.0 + step, loss + 1 / (step + 1)] for step in range(10)],
        }))
    study.add_trials(made)
    return study


def timed(action: Callable[[], object]) -> float:
    started = time.perf_counter()
    action()
    return time.perf_counter() - started


def fetch(url: str) -> bytes:
    with NO_PROXY.open(url, timeout=60) as response:
        body: bytes = response.read()
        if response.status != 200:
            raise SystemExit(f"{url}: HTTP {response.status}")
        return body


def quietly(argv: list[str]) -> None:
    with contextlib.redirect_stdout(io.StringIO()):
        if cli_main(argv) != 0:
            raise SystemExit(f"container-runtime {' '.join(argv)} failed")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jobs", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=500)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dashboard-bench-") as temp:
        home = Path(temp)
        write_jobs(home / "jobs", args.jobs)
        study = write_tuning_job(home / "tuning", args.trials)
        baseline = {
            "cli_jobs_s": timed(lambda: quietly(["--home", str(home), "jobs"])),
            "cli_tuning_describe_s": timed(lambda: quietly(["--home", str(home), "tuning", "describe", TUNING_JOB])),
        }
        server = make_server(Home(home / "jobs", home / "endpoints", home / "tuning"), "127.0.0.1", 0, "bench")
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            jobs_url, tuning_url = server.url + "api/jobs", server.url + f"api/tuning/{TUNING_JOB}"
            results: dict[str, Any] = {"jobs": args.jobs, "trials": args.trials, "baseline": baseline}
            for label, url in (("jobs_page", jobs_url), ("tuning_page", tuning_url)):
                first = timed(lambda url=url: fetch(url))  # type: ignore[misc]
                polls = [timed(lambda url=url: fetch(url)) for _ in range(args.repeats)]  # type: ignore[misc]
                results[label] = {"first_s": first, "median_poll_s": statistics.median(polls)}
            last = home / "jobs" / f"job-{args.jobs - 1:05d}" / "describe.json"
            last.write_text(json.dumps(job_record(last.parent.name, args.jobs - 1, "Completed")))
            results["jobs_page"]["after_change_s"] = timed(lambda: fetch(jobs_url))
            study.set_user_attr("touched", time.time())  # the journal grows, as while trials run
            results["tuning_page"]["after_change_s"] = timed(lambda: fetch(tuning_url))
            results["index_html_s"] = timed(lambda: fetch(server.url))
            rows = json.loads(fetch(jobs_url))["jobs"]
            assert len(rows) == args.jobs, len(rows)
            assert len(json.loads(fetch(tuning_url))["trials"]) == args.trials
        finally:
            server.shutdown()
            server.server_close()
    print(json.dumps(results, indent=2))
    passed = True
    for label in ("jobs_page", "tuning_page"):
        for key in ("first_s", "median_poll_s", "after_change_s"):
            seconds = results[label][key]
            base = baseline["cli_jobs_s" if label == "jobs_page" else "cli_tuning_describe_s"]
            ok = seconds < GOAL_SECONDS
            passed &= ok
            print(f"{'PASS' if ok else 'FAIL'}  {label} {key}: {seconds * 1000:.0f} ms < {GOAL_SECONDS * 1000:.0f} ms "
                  f"(CLI reading the same records: {base * 1000:.0f} ms)")
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
