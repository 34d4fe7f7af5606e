"""Local mode's small pieces: names, metric definitions, SDK-encoded config, channel sources and
the framework presets' hyperparameters."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from container_runtime.local.channels import parse_channel
from container_runtime.local.config_files import encoded_hyperparameters, write_host_config
from container_runtime.local.errors import LocalModeError
from container_runtime.local.estimator import Chainer, TensorFlow
from container_runtime.local.metrics import MetricCollector, metric_definition, metric_definitions
from container_runtime.local.names import NAME, unique_name, validate_name
from container_runtime.local.progress import human_bytes, human_seconds


def test_unique_names_follow_sagemakers_rule_and_sort_by_time() -> None:
    first = unique_name("my_job.v2", now=1_700_000_000.123)
    second = unique_name("my_job.v2", now=1_700_000_000.456)
    assert first.startswith("my-job-v2-2023-11-14-22-13-20-123-")
    assert NAME.match(first) and len(first) <= 63
    assert first < second
    assert len(unique_name("x" * 80)) <= 63
    assert unique_name("a", now=1.0) != unique_name("a", now=1.0)


@pytest.mark.parametrize("name", ["-lead", "trail-", "under_score", "x" * 64, ""])
def test_bad_names_are_refused(name: str) -> None:
    with pytest.raises(LocalModeError, match="job name"):
        validate_name(name)


def test_metrics_keep_every_value_and_report_the_last() -> None:
    collector = MetricCollector(metric_definitions([{"Name": "loss", "Regex": r"loss = ([0-9\.]+)"}]))
    assert collector.feed("step 1 loss = 0.9", 1.0) == [("loss", 0.9)]
    collector.feed("no metric here", 2.0)
    collector.feed("step 2 loss = 0.5 and again loss = 0.4", 3.0)
    collector.feed("loss = nan", 4.0)
    assert [point.value for point in collector.series["loss"]] == [0.9, 0.5, 0.4]
    assert collector.final_values()["loss"].value == 0.4


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"loss": "loss = [0-9.]+"}, "has no group"),
        ({"loss": "loss = ([0-9.]+"}, "bad regex"),
        ([{"Name": "loss"}], "needs 'Name' and 'Regex'"),
    ],
)
def test_bad_metric_definitions_fail_before_any_job(raw: object, message: str) -> None:
    with pytest.raises(LocalModeError, match=re.escape(message)):
        metric_definitions(raw)  # type: ignore[arg-type]


def test_the_public_regexes_compile() -> None:
    for regex in (r"\[J1\s+\d\.\d+\s+\d\.\d+\s+\d\.\d+\s+(\d\.\d+)", r" val_loss: ([0-9\.]+)", r"loss = ([0-9\.]+)"):
        assert metric_definition("m", regex).pattern.groups >= 1


def test_config_files_are_written_the_sdks_way(tmp_path: Path) -> None:
    write_host_config(tmp_path, host="algo-2", hosts=["algo-1", "algo-2"], hyperparameters={"epochs": 3, "opt": "adam",
                      "layers": [1, 2]}, channels=["train"])
    config = tmp_path / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text()) == {"epochs": "3", "opt": '"adam"',
                                                                         "layers": "[1, 2]"}
    assert json.loads((config / "resourceconfig.json").read_text())["current_host"] == "algo-2"
    assert json.loads((config / "inputdataconfig.json").read_text())["train"]["TrainingInputMode"] == "File"
    assert encoded_hyperparameters({"flag": True}) == {"flag": "true"}


def test_channel_sources(tmp_path: Path) -> None:
    assert parse_channel("train", f"file://{tmp_path}").location == str(tmp_path)
    assert parse_channel("train", "s3://bucket/prefix").is_s3
    with pytest.raises(LocalModeError, match="names no bucket"):
        parse_channel("train", "s3:///prefix")
    with pytest.raises(LocalModeError, match="channel 'bad name'"):
        parse_channel("bad name", tmp_path)


def test_presets_turn_sdk_arguments_into_hyperparameters() -> None:
    chainer = Chainer("train.py", use_mpi=True, process_slots_per_host=2, console=None)
    assert chainer.framework_hyperparameters() == {"sagemaker_use_mpi": True, "sagemaker_process_slots_per_host": 2}
    tensorflow = TensorFlow("train.py", distribution={"parameter_server": {"enabled": True}}, console=None)
    assert tensorflow.framework_hyperparameters() == {"sagemaker_parameter_server_enabled": True}
    mpi = TensorFlow("train.py", distribution={"mpi": {"enabled": True, "processes_per_host": 2}}, console=None)
    assert mpi.framework_hyperparameters() == {"sagemaker_mpi_enabled": True,
                                               "sagemaker_mpi_num_of_processes_per_host": 2}
    with pytest.raises(LocalModeError, match="distribution 'horovod'"):
        TensorFlow("train.py", distribution={"horovod": {}}, console=None).framework_hyperparameters()


def test_people_read_sizes_and_durations() -> None:
    assert human_bytes(512) == "512 B"
    assert human_bytes(3 * 1024 * 1024) == "3.0 MB"
    assert human_seconds(4.25) == "4.2s"
    assert human_seconds(125) == "2m05s"
    assert human_seconds(7300) == "2h01m"
