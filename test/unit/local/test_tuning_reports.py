"""A tuning job's reports: SageMaker's analytics dataframe and CSV, the PNG plots, Optuna's
importances and the live trial board (table on terminals, one line per event elsewhere)."""

from __future__ import annotations

import io
import math
import random
from pathlib import Path
from typing import Any

import optuna
import pandas as pd
import pytest

from container_runtime.local.tuning.analytics import analytics_dataframe, export_csv
from container_runtime.local.tuning.live import TrialBoard
from container_runtime.local.tuning.plots import importances, write_plots
from container_runtime.local.tuning.records import TrialRecord, best_record

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def record(number: int, status: str = "Completed", value: float | None = None, **fields: Any) -> TrialRecord:
    objective_status = fields.pop("objective_status", "Succeeded" if value is not None else "Pending")
    base: dict[str, Any] = dict(
        number=number,
        job_name=f"tune-{number:03d}",
        job_status=status,
        objective_status=objective_status,
        final_value=value,
        start_time=f"2024-05-01T10:{number:02d}:00+00:00",
        end_time=None if status == "InProgress" else f"2024-05-01T10:{number:02d}:30.500000+00:00",
        elapsed_seconds=None if status == "InProgress" else 30.5,
        tuned={"lr": 0.01 * (number + 1), "batch": 16 * (number + 1), "optimizer": "adam" if number % 2 else "sgd"},
        failure_reason=None,
        log_path=None,
        job_dir=None,
        stop_reason=None,
        objective_series=[],
        parent=None,
    )
    base.update(fields)
    return TrialRecord(**base)


def finished_jobs() -> list[TrialRecord]:
    return [
        record(0, value=0.9),
        record(1, value=0.5),
        record(2, "Failed", None, objective_status="Failed", failure_reason="exit code 1\ntraceback..."),
        record(3, "Stopped", 0.7, stop_reason="EarlyStopped"),
        record(4, value=0.6),
    ]


def test_dataframe_has_sagemakers_columns_in_order() -> None:
    frame = analytics_dataframe(finished_jobs(), {"lr": None, "momentum": None})
    assert list(frame.columns) == [
        "batch", "lr", "momentum", "optimizer",
        "TrainingJobName", "TrainingJobStatus", "FinalObjectiveValue",
        "TrainingStartTime", "TrainingEndTime", "TrainingElapsedTimeSeconds", "ObjectiveStatus",
    ]  # fmt: skip
    assert len(frame) == 5
    assert frame["batch"].dtype == "float64" and frame["batch"].tolist() == [16.0, 32.0, 48.0, 64.0, 80.0]
    assert frame["lr"].dtype == "float64"
    assert frame["momentum"].isna().all() and frame["momentum"].dtype == "float64"
    assert frame["optimizer"].tolist() == ["sgd", "adam", "sgd", "adam", "sgd"]
    assert frame["TrainingJobName"].tolist()[:2] == ["tune-000", "tune-001"]
    assert frame["TrainingJobStatus"].tolist()[2:4] == ["Failed", "Stopped"]
    assert frame["FinalObjectiveValue"].dtype == "float64"
    assert math.isnan(frame["FinalObjectiveValue"][2]) and frame["FinalObjectiveValue"][1] == 0.5
    assert str(frame["TrainingStartTime"].dtype) == "datetime64[ns, UTC]"
    assert str(frame["TrainingEndTime"].dtype) == "datetime64[ns, UTC]"
    assert frame["TrainingStartTime"][1] == pd.Timestamp("2024-05-01T10:01:00Z")
    assert frame["TrainingElapsedTimeSeconds"].tolist() == [30.5] * 5
    assert frame["ObjectiveStatus"].tolist()[2] == "Failed"


def test_dataframe_numeric_strings_become_floats_and_elapsed_needs_both_times() -> None:
    jobs = [
        record(0, value=1.0, tuned={"depth": "3", "kind": "gbtree"}, start_time="2024-05-01T10:00:00"),
        record(1, "InProgress", tuned={"depth": 5, "kind": "dart"}),
        record(2, "Failed", tuned={"depth": "7", "kind": "gbtree"}, start_time=None),
    ]
    frame = analytics_dataframe(jobs)
    assert frame["depth"].tolist() == [3.0, 5.0, 7.0]
    assert frame["kind"].tolist() == ["gbtree", "dart", "gbtree"]
    assert frame["TrainingStartTime"][0] == pd.Timestamp("2024-05-01T10:00:00Z")  # naive taken as UTC
    assert frame["TrainingElapsedTimeSeconds"][0] == 30.5
    assert pd.isna(frame["TrainingEndTime"][1]) and math.isnan(frame["TrainingElapsedTimeSeconds"][1])
    assert pd.isna(frame["TrainingStartTime"][2]) and math.isnan(frame["TrainingElapsedTimeSeconds"][2])
    assert math.isnan(frame["FinalObjectiveValue"][1])


def test_empty_dataframe_keeps_the_schema() -> None:
    frame = analytics_dataframe([], {"lr": None})
    assert frame.empty
    assert list(frame.columns)[:3] == ["lr", "TrainingJobName", "TrainingJobStatus"]


def test_csv_round_trip(tmp_path: Path) -> None:
    path = export_csv(finished_jobs(), tmp_path / "out" / "analytics.csv")
    assert path.exists()
    back = pd.read_csv(path, parse_dates=["TrainingStartTime", "TrainingEndTime"])
    frame = analytics_dataframe(finished_jobs())
    assert list(back.columns) == list(frame.columns)
    assert back["TrainingJobName"].tolist() == frame["TrainingJobName"].tolist()
    assert back["lr"].tolist() == pytest.approx(frame["lr"].tolist())
    pd.testing.assert_series_equal(back["FinalObjectiveValue"], frame["FinalObjectiveValue"])
    pd.testing.assert_series_equal(back["TrainingEndTime"], frame["TrainingEndTime"])


def assert_png(path: Path) -> None:
    data = path.read_bytes()
    assert data.startswith(PNG_SIGNATURE), path
    assert len(data) > 5_000, (path, len(data))


def test_plots_are_written_as_pngs(tmp_path: Path) -> None:
    paths = write_plots(finished_jobs(), "Minimize", "validation:loss", tmp_path / "plots", {"lr": 0.7, "batch": 0.3})
    assert [p.name for p in paths] == [
        "optimization_history.png",
        "parallel_coordinates.png",
        "parameter_importance.png",
    ]
    for path in paths:
        assert_png(path)


def test_plots_skip_what_the_data_cannot_show(tmp_path: Path) -> None:
    assert write_plots([], "Maximize", "acc", tmp_path, None) == []
    pending = [record(0, "InProgress"), record(1, "Failed", None, objective_status="Failed")]
    assert write_plots(pending, "Maximize", "acc", tmp_path, {"lr": 1.0}) == []
    assert not list(tmp_path.iterdir())
    one = write_plots([record(0, value=0.5, tuned={})], "Maximize", "acc", tmp_path, {})
    assert [p.name for p in one] == ["optimization_history.png"]
    assert_png(one[0])


def test_importances_need_two_complete_trials() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    distributions = {
        "x": optuna.distributions.FloatDistribution(-5, 5),
        "y": optuna.distributions.FloatDistribution(-5, 5),
    }
    study = optuna.create_study()
    assert importances(study) is None
    study.add_trial(optuna.trial.create_trial(params={"x": 1.0, "y": 0.0}, distributions=distributions, value=1.0))
    assert importances(study) is None
    draw = random.Random(0)
    for _ in range(20):
        x, y = draw.uniform(-5, 5), draw.uniform(-5, 5)
        study.add_trial(
            optuna.trial.create_trial(params={"x": x, "y": y}, distributions=distributions, value=x * x + 0.01 * y)
        )
    result = importances(study)
    assert result is not None and set(result) == {"x", "y"}
    assert result["x"] > result["y"]
    assert sum(result.values()) == pytest.approx(1.0)


def test_board_prints_one_line_per_event_off_a_terminal() -> None:
    stream = io.StringIO()
    board = TrialBoard(stream, "validation:loss", "Minimize")
    running = [record(0, "InProgress"), record(1, "InProgress")]
    board.update(running, {"tune-000": 1.0, "tune-001": 0.5}, None)
    board.update(running, {"tune-000": 2.0, "tune-001": 1.5}, None)
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].startswith("tune-000 started (") and "optimizer=sgd" in lines[0]

    jobs = [record(0, value=0.9), record(1, "Failed", None, objective_status="Failed", failure_reason="OOM\nmore")]
    for _ in range(3):
        board.update(jobs, {}, best_record(jobs, "Minimize"))
    lines = stream.getvalue().splitlines()
    assert lines[2:] == [
        "tune-000 Completed: validation:loss=0.9 after 30.5s",
        "tune-001 Failed: no validation:loss after 30.5s - OOM",
        "new best: tune-000 validation:loss=0.9",
    ]

    jobs += [record(2, value=0.4), record(3, "Stopped", 0.95, stop_reason="EarlyStopped")]
    board.update(jobs, {}, best_record(jobs, "Minimize"))
    board.update(jobs, {}, best_record(jobs, "Minimize"))
    board.close()
    lines = stream.getvalue().splitlines()
    assert lines[5:] == [
        "tune-002 Completed: validation:loss=0.4 after 30.5s",
        "tune-003 Stopped (EarlyStopped): validation:loss=0.95 after 30.5s",
        "new best: tune-002 validation:loss=0.4",
    ]
    assert "\x1b" not in stream.getvalue()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_board_redraws_in_place_on_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [100.0]
    monkeypatch.setattr("container_runtime.local.tuning.live.time.monotonic", lambda: clock[0])
    stream = Terminal()
    board = TrialBoard(stream, "acc", "Maximize", interval=1.0)
    jobs = [record(i, value=0.1 * i) for i in range(20)] + [record(20, "InProgress")]
    jobs[20] = jobs[20]._replace(objective_series=[(1.0, 0.42)])
    board.update(jobs, {"tune-020": 75.0}, best_record(jobs, "Maximize"))
    first = stream.getvalue()
    assert "\x1b[" not in first.replace("\x1b[J", "")  # nothing to move up over yet
    table = first.replace("\x1b[J", "").splitlines()
    assert len(table) <= 17
    assert table[0].startswith("Maximize acc: Completed 20  InProgress 1  Failed 0  Stopped 0  | best tune-019")
    assert "tune-020" in table[2] and "InProgress" in table[2] and "0.42~" in table[2] and "1m15s" in table[2]
    assert table[2 + 1].startswith("* tune-019")
    assert "more jobs not shown" in table[-1]

    board.update(jobs, {"tune-020": 75.5}, best_record(jobs, "Maximize"))
    assert stream.getvalue() == first  # throttled
    clock[0] += 1.5
    board.update(jobs, {"tune-020": 77.0}, best_record(jobs, "Maximize"))
    assert stream.getvalue()[len(first) :].startswith(f"\x1b[{len(table)}A\r\x1b[J")
    drawn = len(stream.getvalue())
    board.update(jobs, {"tune-020": 77.1}, best_record(jobs, "Maximize"))
    board.close()  # draws what the throttle held back
    assert len(stream.getvalue()) > drawn
    board.update(jobs, {}, None)
    assert stream.getvalue().endswith("\n")
