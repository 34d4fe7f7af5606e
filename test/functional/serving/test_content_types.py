"""Every content type in both directions against a real `serve`, and Accept negotiation."""

from __future__ import annotations

import io

import numpy as np
import pytest

from harness.serving import Server, decode_body, npy_bytes, request_bodies

ROWS = np.array([[1, 2, 3], [4, 5, 6]], dtype=np.float32)
EXPECTED = ROWS @ np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)


REQUESTS = request_bodies(ROWS.tolist())


@pytest.mark.parametrize("accept", list(REQUESTS))
@pytest.mark.parametrize("content_type", list(REQUESTS))
def test_every_content_type_both_ways(server: Server, content_type: str, accept: str) -> None:
    reply = server.invoke(REQUESTS[content_type], content_type, accept)
    assert reply.status == 200, reply.body
    assert reply.headers["content-type"] == accept
    np.testing.assert_allclose(decode_body(reply.body, accept), EXPECTED)


def test_npy_keeps_dtype_and_shape(server: Server) -> None:
    reply = server.invoke(npy_bytes(ROWS), "application/x-npy", "application/x-npy")
    result = np.load(io.BytesIO(reply.body), allow_pickle=False)
    assert result.dtype == np.float32 and result.shape == (2, 2)


@pytest.mark.parametrize(
    ("accept", "expected"),
    [
        (None, "application/json"),
        ("*/*", "application/json"),
        ("text/csv;q=0.5, application/x-npy;q=0.9", "application/x-npy"),
        ("image/png, text/*", "text/csv"),
        ("application/json;q=0, text/csv", "text/csv"),
        ("TEXT/CSV", "text/csv"),
    ],
)
def test_accept_negotiation(server: Server, accept: str | None, expected: str) -> None:
    reply = server.invoke(REQUESTS["application/json"], "application/json", accept)
    assert reply.status == 200
    assert reply.headers["content-type"] == expected


def test_default_accept_is_configurable(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server(env={"SAGEMAKER_DEFAULT_INVOCATIONS_ACCEPT": "text/csv"}, workers=1)
    server.wait_ready()
    reply = server.invoke(REQUESTS["application/json"], "application/json")
    assert reply.headers["content-type"] == "text/csv"


def test_content_type_header_variants(server: Server) -> None:
    assert server.invoke(REQUESTS["application/json"], "application/json; charset=utf-8").status == 200
    reply = server.request("POST", "/invocations", REQUESTS["text/csv"], {"ContentType": "text/csv"})
    assert reply.status == 200
    # No content type at all means JSON, as in the SageMaker toolkits.
    assert server.request("POST", "/invocations", REQUESTS["application/json"]).status == 200


def test_transform_fn_alone_and_tuple_result(start_server) -> None:  # type: ignore[no-untyped-def]
    server = start_server("transform_model.py", workers=1)
    server.wait_ready()
    reply = server.invoke(b"hello", "text/csv", "application/whatever")
    assert reply.status == 200
    assert reply.body == b"HELLO"
    assert reply.headers["content-type"] == "text/x-shout"
