"""The pure parts of transform jobs: options and execution parameters, splitting, batching,
in-order sending and output assembly."""

from __future__ import annotations

import random
import threading
import time
from pathlib import Path

import pytest

from container_runtime.local.errors import LocalModeError
from container_runtime.local.predictor import error_line
from container_runtime.local.transform.inputs import local_inputs
from container_runtime.local.transform.options import MIB, Plan, TransformOptions, check_options, plan
from container_runtime.local.transform.output import OutputWriter
from container_runtime.local.transform.records import Batch, FileEnd, batches, split_records
from container_runtime.local.transform.sender import BatchRefused, RecordRefused, send_in_order


def test_options_take_the_sdk_spellings() -> None:
    options = check_options(strategy="SingleRecord", split_type="Line", assemble_with="None", max_payload=6,
                            max_concurrent_transforms=4, content_type="text/csv")
    assert options == TransformOptions(strategy="SingleRecord", max_payload=6, max_concurrent_transforms=4,
                                       split_type="Line", assemble_with=None, content_type="text/csv")
    assert check_options(strategy="MULTI_RECORD", split_type="None").strategy == "MultiRecord"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"strategy": "Batch"}, "strategy 'Batch': choose MultiRecord or SingleRecord"),
        ({"max_payload": 101}, "max_payload 101: choose a whole number from 1 to 100 MB"),
        ({"max_payload": 1.5}, "max_payload 1.5: choose a whole number from 1 to 100 MB"),
        ({"max_concurrent_transforms": 0}, "max_concurrent_transforms 0: choose a whole number from 1 to 64"),
        ({"split_type": "RecordIO"}, "split_type 'RecordIO': local transform jobs split by Line or not at all (None)"),
        ({"assemble_with": "Lines"}, "assemble_with 'Lines': choose Line or None"),
        ({"accept": "csv"}, "accept 'csv': expected a media type such as text/csv"),
    ],
)
def test_bad_options_are_one_line_errors(arguments: dict[str, object], message: str) -> None:
    with pytest.raises(LocalModeError) as error:
        check_options(**arguments)  # type: ignore[arg-type]
    assert str(error.value) == message


def test_the_endpoint_fills_in_what_the_user_left_out() -> None:
    parameters = {"MaxConcurrentTransforms": 3, "BatchStrategy": "SINGLE_RECORD", "MaxPayloadInMB": 2}
    assert plan(TransformOptions(), parameters) == Plan("SingleRecord", 2 * MIB, 3)
    assert plan(TransformOptions(strategy="MultiRecord", max_payload=1, max_concurrent_transforms=5),
                parameters) == Plan("MultiRecord", MIB, 5)
    assert plan(TransformOptions(), {}) == Plan("MultiRecord", 6 * MIB, 1)  # no /execution-parameters
    with pytest.raises(LocalModeError, match="MaxPayloadInMB 'six'"):
        plan(TransformOptions(), {"MaxPayloadInMB": "six"})


def test_line_records_are_numbered_by_line_and_blank_lines_skipped(tmp_path: Path) -> None:
    path = tmp_path / "data.csv"
    path.write_bytes(b"1,2\r\n\n3,4\n  \n5,6")
    assert list(split_records(path, "Line")) == [(1, b"1,2"), (3, b"3,4"), (5, b"5,6")]
    assert list(split_records(path, None)) == [(1, b"1,2\r\n\n3,4\n  \n5,6")]
    path.write_bytes(b"")
    assert list(split_records(path, None)) == []


def test_gzipped_files_are_split_after_decompressing(tmp_path: Path) -> None:
    import gzip

    path = tmp_path / "data.csv.gz"
    path.write_bytes(gzip.compress(b"1,2\n3,4\n"))
    assert list(split_records(path, "Line", gzipped=True)) == [(1, b"1,2"), (2, b"3,4")]
    path.write_bytes(b"not gzip")
    with pytest.raises(LocalModeError, match=f"^cannot read {path}: "):
        list(split_records(path, "Line", gzipped=True))


def test_model_client_config_sets_the_timeout_and_refuses_retries() -> None:
    assert check_options(model_client_config={"InvocationsTimeoutInSeconds": 30}).invocation_timeout == 30.0
    assert check_options(compression_type="Gzip").gzipped is True
    with pytest.raises(LocalModeError, match="InvocationsMaxRetries 3: local transform jobs do not retry"):
        check_options(model_client_config={"InvocationsMaxRetries": 3})
    with pytest.raises(LocalModeError, match=r"^compression_type 'zip': choose Gzip or None$"):
        check_options(compression_type="zip")


def test_multi_record_packs_whole_records_up_to_the_payload() -> None:
    records = iter([(1, b"a" * 40), (2, b"b" * 40), (3, b"c" * 40), (4, b"d" * 10)])
    packed = list(batches(0, "f.csv", records, split_type="Line", strategy="MultiRecord", max_payload_bytes=100))
    assert [batch.numbers for batch in packed] == [(1, 2), (3, 4)]
    assert packed[0].body == b"a" * 40 + b"\n" + b"b" * 40 + b"\n"
    assert all(len(batch.body) <= 100 for batch in packed)
    single = batches(0, "f.csv", iter([(1, b"x"), (2, b"y")]), split_type="Line", strategy="SingleRecord",
                     max_payload_bytes=100)
    assert [(batch.numbers, batch.body) for batch in single] == [((1,), b"x\n"), ((2,), b"y\n")]


def test_a_record_over_the_payload_is_named() -> None:
    records = iter([(1, b"ok"), (7, b"z" * 200)])
    with pytest.raises(LocalModeError) as error:
        list(batches(0, "data/f.csv", records, split_type="Line", strategy="MultiRecord", max_payload_bytes=100))
    assert str(error.value).startswith("data/f.csv record 7: 201 bytes is over max_payload")


def test_answers_come_back_in_input_order_whatever_order_they_finish_in() -> None:
    items: list[Batch | FileEnd] = [Batch(0, (n,), (str(n).encode(),), "Line") for n in range(1, 60)]
    items.insert(30, FileEnd(0))
    busy = {"now": 0, "most": 0}
    lock = threading.Lock()

    def invoke(body: bytes) -> bytes:
        with lock:
            busy["now"] += 1
            busy["most"] = max(busy["most"], busy["now"])
        time.sleep(random.uniform(0, 0.01))
        with lock:
            busy["now"] -= 1
        return body.upper()

    answered = list(send_in_order(items, invoke, concurrency=4))
    assert [item for item, _ in answered] == items
    assert [answer for item, answer in answered if isinstance(item, Batch)] == [item.body for item in items
                                                                              if isinstance(item, Batch)]
    assert 1 < busy["most"] <= 4


def test_a_refusal_stops_the_stream_at_its_batch() -> None:
    items = [Batch(0, (n,), (b"%d" % n,), "Line") for n in range(1, 20)]

    def invoke(body: bytes) -> bytes:
        if body == b"5\n":
            raise RecordRefused(400, "400 InvalidInput: no")
        return body

    seen = []
    with pytest.raises(BatchRefused) as refused:
        for item, _ in send_in_order(items, invoke, concurrency=3):
            seen.append(item)
    assert seen == items[:4] and refused.value.batch is items[4]


def test_error_lines_from_serve_bodies() -> None:
    assert error_line(415, b'{"error": "UnsupportedContentType", "message": "cannot\\ndecode"}') == \
        "415 UnsupportedContentType: cannot decode"
    assert error_line(502, b"<html>\n bad gateway</html>") == "502: <html> bad gateway</html>"


def test_outputs_assemble_by_line_and_only_whole_files_remain(tmp_path: Path) -> None:
    writer = OutputWriter(str(tmp_path / "out"), tmp_path / "staging", assemble_with="Line", s3_endpoint_url=None)
    (tmp_path / "out").mkdir()
    writer.open("sub/a.csv")
    writer.write(b"1")
    writer.write(b"2\n3\n")
    assert writer.commit() == str(tmp_path / "out" / "sub" / "a.csv.out")
    assert (tmp_path / "out" / "sub" / "a.csv.out").read_bytes() == b"1\n2\n3\n"
    raw = OutputWriter(str(tmp_path / "out"), tmp_path / "staging", assemble_with=None, s3_endpoint_url=None)
    raw.open("b.json")
    raw.write(b"[1]")
    raw.write(b"[2]")
    raw.abandon()
    assert sorted(path.name for path in (tmp_path / "out").rglob("*")) == ["a.csv.out", "sub"]


def test_inputs_are_every_file_under_a_directory_in_order(tmp_path: Path) -> None:
    for name in ("b.csv", "a/z.csv", "a/c.csv"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("1\n")
    assert [item.name for item in local_inputs(str(tmp_path))] == ["a/c.csv", "a/z.csv", "b.csv"]
    assert [item.name for item in local_inputs(f"file://{tmp_path}/b.csv")] == ["b.csv"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(LocalModeError, match="the directory holds no files"):
        local_inputs(str(tmp_path / "empty"))
