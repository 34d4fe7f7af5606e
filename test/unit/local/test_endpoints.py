"""Local endpoints against real `serve` processes: deploy, predict in each content type, list, stop, refusals.

Each serve start costs a second or two, so one endpoint (from a model.tar.gz) serves most tests;
the stop test and the failing model_fn start their own.
"""

from __future__ import annotations

import io
import os
import shutil
import socket
import subprocess
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

from container_runtime.local.endpoints import (
    RECORD_FILE,
    EndpointRecord,
    check_port_free,
    deploy,
    endpoint_alive,
    find_endpoint,
    free_port,
    list_endpoints,
    stop_endpoint,
    sweep_endpoints,
    write_record,
)
from container_runtime.local.errors import LocalModeError
from container_runtime.local.predictor import Predictor
from container_runtime.local.presets import GENERIC
from harness.jobs import SCRIPTS
from harness.serving import WEIGHTS, make_model_dir

pytest.importorskip("gunicorn")

ROWS = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
EXPECTED = ROWS @ WEIGHTS


class Deployed(NamedTuple):
    record: EndpointRecord
    endpoints_dir: Path
    console: str


def model_archive(root: Path) -> Path:
    """`<root>/job/output/model.tar.gz` holding weights.npy and code/linear_model.py, as a training job leaves it."""
    model = make_model_dir(root / "build")
    archive = root / "job" / "output" / "model.tar.gz"
    archive.parent.mkdir(parents=True)
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(model.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(model)), recursive=False)
    return archive


@pytest.fixture(scope="module")
def deployed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployed]:
    root = tmp_path_factory.mktemp("endpoint")
    endpoints_dir = root / "endpoints"
    console = io.StringIO()
    record = deploy(
        str(model_archive(root)), endpoints_dir=endpoints_dir, framework=GENERIC, entry_point="linear_model.py",
        port=free_port(), workers=1, console=console, wait_seconds=60,
    )
    try:
        yield Deployed(record, endpoints_dir, console.getvalue())
    finally:
        stop_endpoint(record.name, endpoints_dir, grace_seconds=10)


def test_deploy_registers_a_ready_endpoint(deployed: Deployed) -> None:
    record, endpoints_dir, console = deployed
    assert record.name.startswith("job-")  # named after the job whose output it serves
    assert record.url == f"http://127.0.0.1:{record.port}"
    assert endpoint_alive(record)
    directory = endpoints_dir / record.name
    assert Path(record.directory) == directory
    assert (directory / "model" / "weights.npy").is_file()  # serve unpacked the copy of model.tar.gz
    assert (directory / "serve.log").is_file()
    assert EndpointRecord.from_json((directory / RECORD_FILE).read_text()) == record
    assert console == (
        f"Endpoint {record.name} is serving {record.model_data} at {record.url} (pid {record.pid}); "
        f"stop it with: container-runtime stop {record.name}\n"
    )
    assert list_endpoints(endpoints_dir) == [record]
    assert find_endpoint(record.name, endpoints_dir) == record


def test_predict_in_each_content_type(deployed: Deployed) -> None:
    predictor = Predictor(deployed.record.name, endpoints_dir=deployed.endpoints_dir, content_type="application/x-npy")
    answer = predictor.predict(ROWS)
    assert isinstance(answer, np.ndarray) and answer.dtype == np.float32
    np.testing.assert_allclose(answer, EXPECTED)

    by_url = Predictor(deployed.record.url)
    assert by_url.predict(ROWS.tolist()) == EXPECTED.tolist()  # JSON both ways
    assert by_url.predict(ROWS, content_type="text/csv") == EXPECTED.tolist()
    assert by_url.predict([1, 2, 3], content_type="text/csv") == [[4.0, 5.0]]  # one line: one row
    assert by_url.predict(ROWS, accept="application/jsonlines") == EXPECTED.tolist()


def test_http_errors_are_one_line(deployed: Deployed) -> None:
    predictor = Predictor(deployed.record.url)
    with pytest.raises(LocalModeError, match=r"^endpoint answered 415 UnsupportedContentType: \S"):
        predictor.predict(b"x", content_type="application/x-unknown")
    with pytest.raises(LocalModeError, match=r"^endpoint answered 400 InvalidInput: .*rows of 3 values"):
        predictor.predict([[1, 2]])
    with pytest.raises(LocalModeError, match="was given by URL"):
        predictor.delete_endpoint()


def test_busy_port_is_refused_before_anything_starts(deployed: Deployed, tmp_path: Path) -> None:
    model = model_archive(tmp_path)
    endpoints_dir = tmp_path / "endpoints"
    with pytest.raises(LocalModeError, match=rf"^port {deployed.record.port} is in use: choose another with --port$"):
        deploy(str(model), endpoints_dir=endpoints_dir, framework=GENERIC, port=deployed.record.port)
    with socket.socket() as listener:  # a loopback-only listener counts too
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        with pytest.raises(LocalModeError, match=f"port {port} is in use"):
            check_port_free(port)
    assert not endpoints_dir.exists()


def test_missing_model_and_unknown_endpoint(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "model.tar.gz"
    with pytest.raises(LocalModeError, match=f"model data '{missing}': no such file or directory"):
        deploy(str(missing), endpoints_dir=tmp_path / "endpoints", framework=GENERIC, port=free_port())
    assert not (tmp_path / "endpoints").exists()
    for call in (find_endpoint, stop_endpoint):
        with pytest.raises(LocalModeError, match="no endpoint named 'absent'"):
            call("absent", tmp_path / "endpoints")
    with pytest.raises(LocalModeError, match="http:// URL or an endpoint name"):
        Predictor("ftp://somewhere")


def test_failing_model_fn_fails_deploy_and_registers_nothing(tmp_path: Path) -> None:
    endpoints_dir = tmp_path / "endpoints"
    port = free_port()
    with pytest.raises(LocalModeError) as raised:
        deploy(
            str(model_archive(tmp_path)), endpoints_dir=endpoints_dir, framework=GENERIC, name="broken",
            entry_point="linear_model.py", port=port, workers=1, environment={"FAIL_LOAD": "1"}, wait_seconds=60,
        )
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("endpoint broken did not start: model_fn failed in 1 worker(s): RuntimeError: weights file is corrupt")
    assert "serve.log ends:" in message
    assert list_endpoints(endpoints_dir) == []
    directory = endpoints_dir / "broken"
    assert sorted(path.name for path in directory.iterdir()) == ["serve.log"]  # kept for diagnosis only
    check_port_free(port)  # serve is gone


def test_the_command_line_exits_1_for_an_endpoint_that_started_and_failed_and_2_for_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from container_runtime.local import cli

    monkeypatch.setenv("FAIL_LOAD", "1")
    archive = str(model_archive(tmp_path))
    arguments = ["--home", str(tmp_path / "home"), "deploy", "--model-data", archive, "--entry-point",
                 "linear_model.py", "--port", str(free_port()), "--name", "broken"]
    assert cli.main(arguments) == 1
    assert capsys.readouterr().err.startswith("error: endpoint broken did not start: model_fn failed")
    assert cli.main(["--home", str(tmp_path / "home"), "deploy", "--model-data", str(tmp_path / "missing")]) == 2
    assert "no such file or directory" in capsys.readouterr().err


def test_stop_ends_serve_and_forgets_the_endpoint(tmp_path: Path) -> None:
    """A model dir (not a tarball) with code from a source dir; the owning Predictor stops it on exit."""
    model = tmp_path / "model"
    model.mkdir()
    np.save(model / "weights.npy", WEIGHTS)
    source = tmp_path / "src"
    source.mkdir()
    shutil.copy(SCRIPTS / "serving" / "linear_model.py", source / "linear_model.py")
    endpoints_dir = tmp_path / "endpoints"
    record = deploy(
        str(model), endpoints_dir=endpoints_dir, framework=GENERIC, entry_point="linear_model.py", source_dir=source,
        name="to-stop", port=free_port(), workers=1, wait_seconds=60,
    )
    try:
        assert (endpoints_dir / "to-stop" / "code" / "linear_model.py").is_file()
        with Predictor("to-stop", endpoints_dir=endpoints_dir, owned=True) as predictor:
            assert predictor.predict([[1, 0, 0]]) == [[1.0, 0.0]]
        assert not endpoint_alive(record)
        with pytest.raises(ProcessLookupError):
            os.killpg(record.pid, 0)  # the workers went with the master
        assert list_endpoints(endpoints_dir) == []
        with pytest.raises(LocalModeError, match="no endpoint named 'to-stop'"):
            stop_endpoint("to-stop", endpoints_dir)
        with pytest.raises(LocalModeError, match="endpoint dir .* already exists"):
            deploy(str(model), endpoints_dir=endpoints_dir, framework=GENERIC, name="to-stop", port=free_port())
    finally:
        if (endpoints_dir / "to-stop" / RECORD_FILE).exists():
            stop_endpoint("to-stop", endpoints_dir, grace_seconds=10)


def test_stale_records_are_swept(tmp_path: Path) -> None:
    ended = subprocess.Popen(["true"])
    ended.wait()
    directory = tmp_path / "gone"
    directory.mkdir()
    record = EndpointRecord("gone", "http://127.0.0.1:1", 1, ended.pid, "m", "generic", "t", str(directory))
    write_record(directory / RECORD_FILE, record)
    assert sweep_endpoints(tmp_path) == ([], [record])
    assert not (directory / RECORD_FILE).exists()
    assert list_endpoints(tmp_path) == []


def test_deploy_from_s3(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`s3://.../model.tar.gz` is downloaded into the endpoint's model dir (a moto server stands in for S3)."""
    pytest.importorskip("moto.server")
    from harness.s3_server import running_s3_server

    endpoints_dir = tmp_path / "endpoints"
    with running_s3_server() as s3:
        for key, value in s3.environment().items():
            monkeypatch.setenv(key, value)
        uri = s3.put_object("endpoint-models", "jobs/trained/output/model.tar.gz", model_archive(tmp_path))
        record = deploy(
            uri, endpoints_dir=endpoints_dir, framework=GENERIC, entry_point="linear_model.py", port=free_port(),
            workers=1, s3_endpoint_url=s3.endpoint_url, wait_seconds=60,
        )
    try:
        assert record.name.startswith("trained-") and record.model_data == uri
        assert not (Path(record.directory) / "download").exists()
        assert Predictor(record.url, content_type="text/csv").predict([0, 1, 0]) == [[0.0, 1.0]]
    finally:
        stop_endpoint(record.name, endpoints_dir, grace_seconds=10)
