"""The dashboard's routes over real records: what each page reads, files only from inside the
records' dirs, broken records shown as broken (never a 500), and the token on every action."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from container_runtime.local.endpoints import list_endpoints
from harness.dashboard import Dashboard, Records, http, running_job


def get_json(dashboard: Dashboard, path: str) -> dict[str, Any]:
    answer = http(dashboard.url + path.lstrip("/"))
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"] == "application/json"
    document: dict[str, Any] = json.loads(answer.body)
    return document


def test_the_page_and_its_assets_come_from_the_package(dashboard: Dashboard) -> None:
    page = http(dashboard.url)
    assert page.status == 200 and page.headers["Content-Type"] == "text/html"
    for asset in re.findall(rb'(?:src|href)="(/static/[^"]+)"', page.body):
        answer = http(dashboard.url + asset.decode().lstrip("/"))
        assert answer.status == 200 and answer.body, asset
    # Nothing from the internet: every script and stylesheet is our own.
    assert not re.search(rb'(?:src|href)="(?:https?:)?//', page.body)
    script = http(dashboard.url + "static/app.js").body
    assert b"http://" not in script and b"https://" not in script


def test_jobs_list_newest_first_with_status_metrics_and_broken_records(dashboard: Dashboard) -> None:
    rows = {row["name"]: row for row in get_json(dashboard, "/api/jobs")["jobs"]}
    finished = rows["finished"]
    assert finished["status"] == "Completed" and finished["backend"] == "local" and finished["hosts"] == 1
    assert finished["duration"] > 0 and finished["metrics"] == {"accuracy": pytest.approx(0.9333, abs=0.05)}
    assert rows["failed"]["status"] == "Failed" and "boom" in rows["failed"]["failure"]
    assert rows["running"]["status"] == "InProgress"
    assert rows["half-written"]["status"] == "Unreadable" and "not valid JSON" in rows["half-written"]["error"]
    assert rows["no-record"]["status"] == "Unreadable" and "missing" in rows["no-record"]["error"]
    assert rows["a-list"]["status"] == "Unreadable" and "expected a JSON object" in rows["a-list"]["error"]
    names = [row["name"] for row in get_json(dashboard, "/api/jobs")["jobs"]]
    assert names[0] == "running"  # it started (on its record) after every other job


def test_a_job_page_has_its_record_logs_artifacts_and_metric_series(dashboard: Dashboard) -> None:
    detail = get_json(dashboard, "/api/jobs/finished")
    assert detail["record"]["HyperParameters"]["epochs"] == "3"
    assert [channel["ChannelName"] for channel in detail["record"]["InputDataConfig"]] == ["train", "test"]
    assert {artifact["name"] for artifact in detail["artifacts"]} == {"model.tar.gz", "output.tar.gz"}
    assert [log["host"] for log in detail["logs"]] == ["algo-1"]
    assert len(detail["series"]["accuracy"]) == 3  # one value per epoch, as the collector matched them
    assert detail["series"]["accuracy"][-1] == detail["row"]["metrics"]["accuracy"]
    seconds = detail["series_times"]["accuracy"]  # when each value was logged, so the chart is over time
    assert len(seconds) == 3 and seconds[0] == 0 and seconds == sorted(seconds)
    model = http(dashboard.url + "api/jobs/finished/artifacts/model.tar.gz")
    assert model.status == 200 and model.body[:2] == b"\x1f\x8b"
    assert "attachment" in model.headers["Content-Disposition"]
    assert "boom" in get_json(dashboard, "/api/jobs/failed")["row"]["failure"]


def test_a_broken_record_is_a_page_that_says_so(dashboard: Dashboard) -> None:
    half = get_json(dashboard, "/api/jobs/half-written")
    assert half["record"] is None and "not valid JSON" in half["error"]
    assert get_json(dashboard, "/api/jobs/no-record")["logs"] == []
    missing = http(dashboard.url + "api/jobs/never-ran")
    assert missing.status == 404 and "never-ran" in missing.json()["error"]


def test_a_log_is_read_from_an_offset_so_the_page_follows_it(dashboard: Dashboard, records: Records) -> None:
    root = running_job(records.home / "jobs", "growing", ["epoch=1 loss=0.5"])
    first = get_json(dashboard, "/api/jobs/growing/logs/algo-1?offset=0")
    assert first["text"] == "epoch=1 loss=0.5\n"
    with (root / "logs" / "algo-1.log").open("a") as log:
        log.write("epoch=2 loss=0.25\n")
    second = get_json(dashboard, f"/api/jobs/growing/logs/algo-1?offset={first['next']}")
    assert second["text"] == "epoch=2 loss=0.25\n"
    assert get_json(dashboard, "/api/jobs/growing")["series"]["loss"] == [0.5, 0.25]
    past_end = get_json(dashboard, "/api/jobs/growing/logs/algo-1?offset=99999")
    assert past_end["text"] == "" and past_end["next"] == second["next"]
    assert http(dashboard.url + "api/jobs/growing/logs/algo-1?offset=x").status == 400
    assert http(dashboard.url + "api/jobs/growing/logs/algo-9").status == 404


@pytest.mark.parametrize("path", [
    "api/jobs/finished/logs/..%2F..%2F..%2Fetc%2Fpasswd",
    "api/jobs/finished/logs/..",
    "api/jobs/..%2F..%2Fetc/logs/passwd",
    "api/jobs/..",
    "api/jobs/finished/artifacts/..%2Fdescribe.json",
    "api/jobs/finished/artifacts/%2Fetc%2Fpasswd",
    "api/jobs/finished/artifacts/..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "static/..%2Fserver.py",
    "static/%2Fetc%2Fpasswd",
    "api/tuning/..%2F..%2Fjobs",
    "api/jobs/finished?tuning=..%2F..",
    "api/endpoints/..%2Fjobs",
])
def test_no_route_serves_a_file_outside_the_records(dashboard: Dashboard, path: str) -> None:
    answer = http(dashboard.url + path)
    assert answer.status in (400, 403, 404), (answer.status, answer.body[:200])
    assert b"root:" not in answer.body and b"import" not in answer.body and b"TrainingJobName" not in answer.body


def test_a_symlink_out_of_the_output_dir_is_refused(dashboard: Dashboard, records: Records, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("private")
    (records.home / "jobs" / "finished" / "output" / "link.txt").symlink_to(secret)
    answer = http(dashboard.url + "api/jobs/finished/artifacts/link.txt")
    assert answer.status == 403 and b"private" not in answer.body


def test_tuning_job_counters_best_trials_and_importance(dashboard: Dashboard, records: Records) -> None:
    rows = {row["name"]: row for row in get_json(dashboard, "/api/tuning")["tuning_jobs"]}
    assert rows["branin-tuning"]["status"] == "Completed"
    assert rows["broken-tuning"]["error"] and "journal.log" in rows["broken-tuning"]["error"]
    assert rows["no-study"]["error"]
    tuning = get_json(dashboard, "/api/tuning/branin-tuning")
    described = tuning["description"]
    assert described["TrainingJobStatusCounters"]["Completed"] == 5
    assert described["CompletionReason"]
    trials = tuning["trials"]
    assert len(trials) == 5 and tuning["parameters"] == ["mode", "x1", "x2"]
    best = min(trials, key=lambda trial: trial["objective"])
    assert best["best"] and best["job"] == described["BestTrainingJob"]["TrainingJobName"]
    assert sum(trial["best"] for trial in trials) == 1
    assert set(tuning["importance"]) == {"mode", "x1", "x2"}
    assert sum(tuning["importance"].values()) == pytest.approx(1.0)
    # Each trial links to its training job's page.
    trial_job = get_json(dashboard, f"/api/jobs/{best['job']}?tuning=branin-tuning")
    assert trial_job["row"]["status"] == "Completed" and "branin" in trial_job["series"]
    assert http(dashboard.url + f"api/jobs/{best['job']}").status == 404  # not among home's jobs
    broken = get_json(dashboard, "/api/tuning/broken-tuning")
    assert broken["trials"] == [] and "cannot be read" in broken["error"]


def test_a_study_opens_in_optuna_dashboard_with_the_token(dashboard: Dashboard, records: Records) -> None:
    pytest.importorskip("optuna_dashboard")
    route = dashboard.url + f"api/tuning/{records.tuning_job}/optuna-dashboard"
    assert get_json(dashboard, f"/api/tuning/{records.tuning_job}")["optuna_dashboard"] is True
    assert http(route, method="POST").status == 403
    started = http(route, method="POST", headers={"X-Dashboard-Token": dashboard.token})
    assert started.status == 200
    url = started.json()["url"]
    assert url.startswith("http://127.0.0.1:") and "/dashboard/studies/" in url
    again = http(route, method="POST", headers={"X-Dashboard-Token": dashboard.token}).json()["url"]
    assert again == url  # one optuna-dashboard per tuning job
    page = http(url)
    assert page.status == 200 and b"<script" in page.body
    base = url.split("/dashboard/")[0]
    studies = http(base + "/api/studies").json()["study_summaries"]
    assert [study["study_name"] for study in studies] == [records.tuning_job]
    study_id = url.rsplit("/", 1)[1]
    trials = http(base + f"/api/studies/{study_id}").json()["trials"]
    assert sum(trial["state"] == "Complete" for trial in trials) == 5  # the same five training jobs
    elsewhere = http(dashboard.url + "api/tuning/no-study/optuna-dashboard", method="POST",
                     headers={"X-Dashboard-Token": dashboard.token})
    assert elsewhere.status == 404 and "journal.log" in elsewhere.json()["error"]


def test_endpoint_status_ping_and_traffic(dashboard: Dashboard, records: Records) -> None:
    rows = {row["name"]: row for row in get_json(dashboard, "/api/endpoints")["endpoints"]}
    assert rows[records.endpoint]["status"] == "Running"
    assert rows["garbled"]["status"] == "Unreadable" and "not an endpoint record" in rows["garbled"]["error"]
    before = get_json(dashboard, f"/api/endpoints/{records.endpoint}")
    assert before["ping"]["status"] == 200 and before["model_data"].endswith("model")
    answer = http(dashboard.url + f"api/endpoints/{records.endpoint}/invocations", method="POST",
                  data=b"[[1, 2, 3]]", headers={"X-Dashboard-Token": dashboard.token,
                                                 "Content-Type": "application/json"})
    assert answer.status == 200
    assert answer.json() == {"status": 200, "content_type": "application/json", "body": "[[16.0, 22.0]]"}
    bad = http(dashboard.url + f"api/endpoints/{records.endpoint}/invocations", method="POST", data=b"[[1]]",
               headers={"X-Dashboard-Token": dashboard.token, "Content-Type": "application/json"})
    assert bad.status == 200 and bad.json()["status"] == 400  # the endpoint's own refusal, shown as it is
    after = get_json(dashboard, f"/api/endpoints/{records.endpoint}")
    assert after["metrics"]["requests"] == before["metrics"]["requests"] + 2
    assert after["metrics"]["latency_count"] >= before["metrics"]["latency_count"] + 2
    assert http(dashboard.url + "api/endpoints/garbled").status == 404


@pytest.mark.parametrize("headers, data", [
    ({}, b""),
    ({"X-Dashboard-Token": "wrong"}, b""),
    ({"Content-Type": "application/x-www-form-urlencoded"}, b"token=wrong"),
])
def test_actions_without_the_token_are_refused(dashboard: Dashboard, records: Records,
                                               headers: dict[str, str], data: bytes) -> None:
    for action in ("stop", "invocations"):
        answer = http(dashboard.url + f"api/endpoints/{records.endpoint}/{action}", method="POST", data=data,
                      headers=headers)
        assert answer.status == 403 and "token" in answer.json()["error"]
    assert records.endpoint in [record.name for record in list_endpoints(records.home / "endpoints")]


def test_stopping_an_endpoint_with_the_token_in_a_form(dashboard: Dashboard, records: Records) -> None:
    from container_runtime.local.endpoints import free_port
    from harness.dashboard import SERVING_SCRIPTS, cli

    deployed = cli(records.home, "deploy", "--model-data", str(records.home / "model"), "--entry-point",
                   "linear_model.py", "--source-dir", str(SERVING_SCRIPTS), "--name", "to-stop",
                   "--port", str(free_port()))
    assert deployed.returncode == 0, deployed.stderr
    answer = http(dashboard.url + "api/endpoints/to-stop/stop", method="POST", data=f"token={dashboard.token}".encode(),
                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 200 and answer.json() == {"stopped": "to-stop"}
    assert "to-stop" not in [record.name for record in list_endpoints(records.home / "endpoints")]
    assert http(dashboard.url + "api/endpoints/to-stop").status == 404


def test_stopping_a_running_job_needs_the_token(dashboard: Dashboard, records: Records) -> None:
    script = Path(__file__).resolve().parents[2] / "scripts" / "checkpoint_on_sigterm.py"
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("SM_", "SAGEMAKER_"))}
    process = subprocess.Popen([sys.executable, "-m", "container_runtime.local.cli", "--home", str(records.home),
                                "run", str(script), "--job-name", "stoppable"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=environment)
    route = dashboard.url + "api/jobs/stoppable/stop"
    token = {"X-Dashboard-Token": dashboard.token}
    try:
        log = records.home / "jobs" / "stoppable" / "logs" / "algo-1.log"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (log.is_file() and "training" in log.read_text()):
            time.sleep(0.1)
        assert http(route, method="POST").status == 403
        assert get_json(dashboard, "/api/jobs/stoppable")["row"]["status"] == "InProgress"
        answer = http(route, method="POST", headers=token)
        assert answer.status == 200 and answer.json() == {"stopping": "stoppable", "pid": process.pid}
        assert process.wait(timeout=60) == 130  # `run`'s status for a stopped job
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert get_json(dashboard, "/api/jobs/stoppable")["row"]["status"] == "Stopped"
    again = http(route, method="POST", headers=token)
    assert again.status == 409 and "not running" in again.json()["error"]
    handwritten = http(dashboard.url + "api/jobs/running/stop", method="POST", headers=token)
    assert handwritten.status == 409 and "names no process" in handwritten.json()["error"]
    trial = http(dashboard.url + "api/jobs/running/stop?tuning=branin-tuning", method="POST", headers=token)
    assert trial.status == 409 and "tuning job" in trial.json()["error"]


def test_requests_for_another_host_name_are_refused(dashboard: Dashboard) -> None:
    """A page whose DNS name was rebound to 127.0.0.1 reaches the port, but not the records."""
    rebound = http(dashboard.url + "api/jobs", headers={"Host": f"evil.example:{dashboard.server.server_port}"})
    assert rebound.status == 403 and b"finished" not in rebound.body
    for name in ("localhost", "127.0.0.1"):
        assert http(dashboard.url + "api/jobs", headers={"Host": f"{name}:8765"}).status == 200  # an SSH tunnel


def test_unknown_routes_and_bad_names(dashboard: Dashboard) -> None:
    assert http(dashboard.url + "api/nothing").status == 404
    assert http(dashboard.url + "api/jobs/finished/unknown/x").status == 404
    assert http(dashboard.url + "api/jobs/bad%20name").status == 400
    assert http(dashboard.url + "api/tuning/nope").status == 404
    posted = http(dashboard.url + "api/jobs", method="POST", data=b"", headers={"X-Dashboard-Token": dashboard.token})
    assert posted.status == 404


def start_ui(home: Path, *args: str) -> tuple[subprocess.Popen[str], list[str]]:
    process = subprocess.Popen([sys.executable, "-m", "container_runtime.local.cli", "--home", str(home), "ui", *args],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and not any(line.startswith("Token") for line in lines):
        line = process.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
    return process, lines


def test_ui_binds_loopback_on_a_free_port_and_prints_the_url_and_token(records: Records) -> None:
    process, lines = start_ui(records.home)
    try:
        url_line = next(line for line in lines if line.startswith("Dashboard: "))
        match = re.fullmatch(r"Dashboard: (http://127\.0\.0\.1:(\d+)/)\?token=(\S+)", url_line)
        assert match, lines
        url, token = match.group(1), match.group(3)
        assert not any(line.startswith("warning") for line in lines)
        assert http(url + "api/jobs").status == 200
        assert http(url + f"api/endpoints/{records.endpoint}/stop", method="POST").status == 403
        wrong = http(url + f"api/endpoints/{records.endpoint}/invocations", method="POST", data=b"[[1,2,3]]",
                     headers={"X-Dashboard-Token": token + "x"})
        assert wrong.status == 403
        with socket.create_connection(("127.0.0.1", int(match.group(2))), timeout=5):
            pass
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_another_address_needs_the_flag_and_warns(records: Records) -> None:
    process, lines = start_ui(records.home, "--host", "127.0.0.2")
    try:
        assert any(line.startswith("warning: the dashboard listens on 127.0.0.2") for line in lines), lines
        assert any(line.startswith("Dashboard: http://127.0.0.2:") for line in lines), lines
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_port_in_use_is_one_line_and_status_2(records: Records) -> None:
    from harness.dashboard import cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        result = cli(records.home, "ui", "--port", str(taken.getsockname()[1]), timeout=30)
    assert result.returncode == 2 and result.stderr.startswith("error: ui: cannot listen on 127.0.0.1:")
    assert len(result.stderr.strip().splitlines()) == 1
