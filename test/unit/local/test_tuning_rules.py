"""The tuner's rules, checked without running jobs: ranges and scaling, objective reductions,
SageMaker's median early-stopping rule, the 1% not-improving rule, strategy checks."""

from __future__ import annotations

import math

import pytest

from container_runtime.local.errors import LocalModeError
from container_runtime.local.tuning.criteria import not_improving_streak as _not_improving_streak
from container_runtime.local.tuning.early_stopping import should_stop
from container_runtime.local.tuning.objective import Objective, objective
from container_runtime.local.tuning.ranges import (
    CategoricalParameter,
    ContinuousParameter,
    IntegerParameter,
    check_ranges,
    describe_range,
    distribution,
    job_value,
    parse_range,
    range_from_description,
)
from container_runtime.local.tuning.records import TrialRecord
from container_runtime.local.tuning.storage import _safe
from container_runtime.local.tuning.strategies import check_strategy, hyperband_max_resource

pytest.importorskip("optuna")


@pytest.mark.parametrize(
    ("ranges", "message"),
    [
        ({}, "no hyperparameter ranges"),
        ({"lr": ContinuousParameter(0.1, 0.1)}, "needs min < max"),
        ({"lr": ContinuousParameter(0.0, 1.0, "Logarithmic")}, "Logarithmic scaling needs min > 0"),
        ({"m": ContinuousParameter(0.5, 1.0, "ReverseLogarithmic")}, "0 <= min < max < 1"),
        ({"n": IntegerParameter(1, 9, "ReverseLogarithmic")}, "continuous ranges only"),
        ({"n": IntegerParameter(1.5, 9)}, "whole numbers"),  # type: ignore[arg-type]
        ({"lr": ContinuousParameter(0.1, 0.2, "Cubic")}, "scaling 'Cubic'"),
        ({"opt": CategoricalParameter(())}, "no values"),
        ({"opt": CategoricalParameter(("a", "a"))}, "repeated values"),
    ],
)
def test_bad_ranges_are_refused_at_submit_time(ranges: dict[str, object], message: str) -> None:
    with pytest.raises(LocalModeError, match=message):
        check_ranges(ranges)  # type: ignore[arg-type]


def test_values_reach_the_job_in_their_own_type_and_scale() -> None:
    assert job_value(IntegerParameter(10, 50), 17) == 17 and isinstance(job_value(IntegerParameter(10, 50), 17), int)
    momentum = ContinuousParameter(0.9, 0.999, "ReverseLogarithmic")
    sampled = distribution(momentum)
    assert sampled.log and sampled.low == pytest.approx(0.001) and sampled.high == pytest.approx(0.1)
    assert job_value(momentum, 0.01) == pytest.approx(0.99)
    assert distribution(ContinuousParameter(1e-4, 1e-1, "Logarithmic")).log
    assert not distribution(ContinuousParameter(1e-4, 1e-1)).log  # Auto starts linear, as SageMaker does
    for name, parameter in {"a": CategoricalParameter.of([1, "x"]), "b": IntegerParameter(1, 4, "Linear"),
                            "c": ContinuousParameter(0.5, 2.5)}.items():
        assert range_from_description(describe_range(name, parameter)) == parameter


def test_the_command_line_range_syntax() -> None:
    assert parse_range("lr=continuous:0.001:0.2:Logarithmic") == ("lr", ContinuousParameter(0.001, 0.2, "Logarithmic"))
    assert parse_range("epochs=integer:10:50") == ("epochs", IntegerParameter(10, 50))
    assert parse_range("opt=categorical:adam,sgd,3") == ("opt", CategoricalParameter(("adam", "sgd", 3)))
    with pytest.raises(LocalModeError, match="range 'lr=uniform:0:1'"):
        parse_range("lr=uniform:0:1")


def test_reductions_of_a_jobs_series() -> None:
    values = [0.5, 0.3, 0.4, math.nan]
    assert objective("loss", "Minimize").reduce(values) == 0.4  # SageMaker: the last value
    assert objective("loss", "Minimize", "best").reduce(values) == 0.3
    assert objective("acc", "Maximize", "best").reduce(values) == 0.5
    assert objective("loss", "Minimize", "mean-last-2").reduce(values) == pytest.approx(0.35)
    assert objective("loss").reduce([]) is None
    with pytest.raises(LocalModeError, match="not among the metric definitions"):
        objective("loss", metric_names=["accuracy"])
    with pytest.raises(LocalModeError, match="reduction 'median'"):
        objective("loss", reduction="median")


def test_the_median_rule_stops_only_a_job_worse_than_its_peers_after_warm_up() -> None:
    loss = Objective("loss", "Minimize")
    peers = [[1.0, 0.5, 0.4], [1.1, 0.6, 0.5], [0.9, 0.55, 0.45]]
    assert should_stop(loss, [5.0], peers) is None  # warm-up
    reason = should_stop(loss, [5.0, 4.0], peers)
    assert reason is not None and "worse than the median" in reason
    assert should_stop(loss, [1.0, 0.7], peers) is None  # 0.7 beats the median of running averages (0.8)
    assert should_stop(loss, [5.0, 4.0], peers[:2]) is None  # too few peers
    accuracy = Objective("acc", "Maximize")
    assert should_stop(accuracy, [0.1, 0.1], [[0.5, 0.6]] * 3) is not None


def record(number: int, value: float, end: str) -> TrialRecord:
    return TrialRecord(number, f"job-{number}", "Completed", "Succeeded", value, None, end, None, {}, None, None,
                       None, None, [], None)


def test_the_not_improving_streak_uses_the_one_percent_rule() -> None:
    loss = Objective("loss", "Minimize")
    records = [record(0, 1.0, "1"), record(1, 0.995, "2"), record(2, 0.999, "3"), record(3, 0.98, "4")]
    assert _not_improving_streak(records[:3], loss) == 2  # 0.5% better is not an improvement
    assert _not_improving_streak(records, loss) == 0


def test_strategy_rules() -> None:
    grid = {"opt": CategoricalParameter.of(["a", "b"]), "bs": CategoricalParameter.of([32, 64, 128])}
    assert check_strategy("Grid", grid, None, "Off") == 6
    with pytest.raises(LocalModeError, match="max_jobs must be 6"):
        check_strategy("Grid", grid, 4, "Off")
    with pytest.raises(LocalModeError, match="categorical ranges only"):
        check_strategy("Grid", {"lr": ContinuousParameter(0, 1)}, None, "Off")
    with pytest.raises(LocalModeError, match="early stopping type must be Off"):
        check_strategy("Hyperband", grid, 5, "Auto")
    assert check_strategy("Bayesian", grid, None, "Off") == 1  # the SDK's default
    assert hyperband_max_resource({"epochs": 20}, None) == 20
    with pytest.raises(LocalModeError, match="maximum resource"):
        hyperband_max_resource({}, None)


def test_storage_urls_never_show_their_password() -> None:
    assert _safe("postgresql+psycopg2://tuner:secret@db:5432/hpo") == "postgresql+psycopg2://tuner@db:5432/hpo"
