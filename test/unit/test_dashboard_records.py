"""The dashboard's readers on their own: containment of served files, rows for broken records, the
metric series a log yields, the importance share and the /metrics totals."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from container_runtime.local.dashboard.endpoints import SAMPLE
from container_runtime.local.dashboard.files import OutsideRecords, contained, read_tail
from container_runtime.local.dashboard.records import (
    FileCache,
    importance,
    job_row,
    list_jobs,
    metric_series,
    timed_series,
)
from container_runtime.local.metrics import MetricLog


@pytest.mark.parametrize("relative", ["../x", "a/../../x", "/etc/passwd", "", "a\x00b", ".."])
def test_paths_that_leave_the_root_are_refused(tmp_path: Path, relative: str) -> None:
    with pytest.raises(OutsideRecords):
        contained(tmp_path / "root", relative)


def test_a_symlink_out_of_the_root_is_refused_and_one_inside_is_served(tmp_path: Path) -> None:
    root = tmp_path / "root"
    root.mkdir()
    (root / "inside.txt").write_text("ok")
    (root / "in-link").symlink_to(root / "inside.txt")
    (root / "out-link").symlink_to(tmp_path)
    assert contained(root, "in-link") == (root / "inside.txt").resolve()
    with pytest.raises(OutsideRecords):
        contained(root, "out-link/secret")


def test_reading_a_log_from_an_offset(tmp_path: Path) -> None:
    log = tmp_path / "algo-1.log"
    log.write_bytes(b"one\ntwo\n")
    assert read_tail(log, 4) == (b"two\n", 8)
    assert read_tail(log, 100) == (b"", 8)
    assert read_tail(log, -5) == (b"one\ntwo\n", 8)


def test_broken_records_are_rows_and_the_cache_sees_rewrites(tmp_path: Path) -> None:
    (tmp_path / "good").mkdir()
    record = tmp_path / "good" / "describe.json"
    record.write_text(json.dumps({"TrainingJobStatus": "InProgress", "ResourceConfig": "not a dict"}))
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "describe.json").write_text("{")
    (tmp_path / "not a name").mkdir()
    cache = FileCache()
    rows = {row["name"]: row for row in list_jobs(tmp_path, cache)}
    assert set(rows) == {"good", "bad"}
    assert rows["good"]["status"] == "InProgress" and rows["good"]["hosts"] is None
    assert rows["bad"]["status"] == "Unreadable"
    record.write_text(json.dumps({"TrainingJobStatus": "Completed", "FinalMetricDataList": [
        {"MetricName": "loss", "Value": 0.1}, "junk"]}))
    stat = record.stat()
    os.utime(record, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    rows = {row["name"]: row for row in list_jobs(tmp_path, cache)}
    assert rows["good"]["status"] == "Completed" and rows["good"]["metrics"] == {"loss": 0.1}
    assert job_row("x", {"TrainingJobStatus": None})["status"] == "Unreadable"


def test_metric_series_every_match_in_order_and_bad_definitions_said(tmp_path: Path) -> None:
    log = tmp_path / "algo-1.log"
    log.write_text("loss=0.5 acc=0.1\nnoise\nloss=0.25 acc=0.2\nloss=nan\n")
    record = {"AlgorithmSpecification": {"MetricDefinitions": [
        {"Name": "loss", "Regex": r"loss=([0-9.]+)"}, {"Name": "acc", "Regex": r"acc=([0-9.]+)"}]}}
    assert metric_series(record, [log]) == ({"loss": [0.5, 0.25], "acc": [0.1, 0.2]}, None)
    broken = {"AlgorithmSpecification": {"MetricDefinitions": [{"Name": "loss", "Regex": "("}]}}
    series, error = metric_series(broken, [log])
    assert series == {} and error and "bad regex" in error
    assert metric_series("unreadable", [log]) == ({}, None)


def test_the_metric_log_gives_each_value_its_time_and_a_half_written_line_waits(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    log = MetricLog(path)
    log.write([("loss", 0.5), ("acc", 0.1)], 100.0)
    log.write([("loss", 0.25), ("acc", float("nan"))], 102.5)
    with path.open("a") as handle:
        handle.write('{"metric": "loss", "time": 104')  # the runner is still writing this one
    defined = {"loss": [], "acc": []}
    assert timed_series(path, defined) == ({"loss": [0.5, 0.25], "acc": [0.1]},
                                           {"loss": [0.0, 2.5], "acc": [0.0]})
    assert timed_series(tmp_path / "none.jsonl", defined) is None  # a job recorded before metric logs
    (tmp_path / "bad.jsonl").write_text("not json\n")
    assert timed_series(tmp_path / "bad.jsonl", defined) is None


def test_importance_follows_the_parameter_that_drives_the_objective() -> None:
    trials = [{"objective": float(x), "params": {"x": x, "noise": (x * 7) % 5, "mode": "a"}} for x in range(10)]
    shares = importance(trials, ["x", "noise", "mode"])
    assert shares["x"] == max(shares.values()) and shares["mode"] == 0.0
    assert sum(shares.values()) == pytest.approx(1.0)
    assert importance(trials[:2], ["x"]) == {}


def test_prometheus_samples_are_parsed_with_and_without_labels() -> None:
    match = SAMPLE.match('serving_requests_total{route="/invocations",status="200"} 3.0')
    assert match and match.groups() == ("serving_requests_total", '{route="/invocations",status="200"}', "3.0")
    match = SAMPLE.match("serving_request_duration_seconds_count 2")
    assert match and match.group(3) == "2"
    assert SAMPLE.match("# HELP serving_requests_total x") is None
