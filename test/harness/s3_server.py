"""A real S3-compatible HTTP server on the loopback interface, for tests.

It is moto's server (`moto.server.ThreadedMotoServer`, needs `moto[server]`) running in a
daemon thread of the test process, listening on a port the kernel picks (no race for a
free port). Starting takes about 0.4-0.5 s, nearly all of it importing moto; a
`moto_server` subprocess took 0.6-0.8 s and needs a port chosen in advance. Stopping
takes at most about 0.5 s (werkzeug's poll interval). Child processes reach it over HTTP
like any S3 endpoint; give them `S3Server.environment()`.

Buckets live in moto's in-process state, which every moto server and `mock_aws` in the
same process share: use bucket names unique to each test.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = ["S3Server", "running_s3_server"]

_HOST = "127.0.0.1"
_START_TIMEOUT_S = 30.0
_STOP_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class S3Server:
    """Where a running test S3 server listens and the made-up credentials it accepts."""

    endpoint_url: str
    region: str = "us-east-1"
    access_key: str = "testing-access-key"
    secret_key: str = "testing-secret-key"

    def environment(self) -> dict[str, str]:
        """Variables that point a child process's boto3 (and the runtime) at this server.

        Merge them into a copy of `os.environ`. `AWS_ENDPOINT_URL_S3` sends any other
        boto3 S3 client there too, and the instance metadata service is switched off, so
        nothing reaches real AWS.
        """
        no_proxy = ",".join(
            part for part in (os.environ.get("NO_PROXY", ""), _HOST, "localhost") if part
        )
        return {
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "S3_ENDPOINT_URL": self.endpoint_url,
            "AWS_ENDPOINT_URL_S3": self.endpoint_url,
            "AWS_EC2_METADATA_DISABLED": "true",
            "NO_PROXY": no_proxy,
            "no_proxy": no_proxy,
        }

    def client(self) -> Any:
        """A boto3 S3 client for this server, with explicit credentials and no proxy."""
        import boto3
        from botocore.config import Config

        return boto3.session.Session().client(
            "s3",
            endpoint_url=self.endpoint_url,
            region_name=self.region,
            aws_access_key_id=self.access_key,
            aws_secret_access_key=self.secret_key,
            config=Config(proxies={}, retries={"max_attempts": 1}),
        )

    def put_object(self, bucket: str, key: str, body: Path | bytes) -> str:
        """Store `body` (a file's path or bytes) at `s3://bucket/key`, creating the bucket.

        Returns the `s3://` URI.
        """
        from botocore.exceptions import ClientError

        client = self.client()
        try:
            client.head_bucket(Bucket=bucket)
        except ClientError:
            if self.region == "us-east-1":
                client.create_bucket(Bucket=bucket)
            else:
                client.create_bucket(
                    Bucket=bucket,
                    CreateBucketConfiguration={"LocationConstraint": self.region},
                )
        if isinstance(body, bytes):
            client.put_object(Bucket=bucket, Key=key, Body=body)
        else:
            client.upload_file(str(body), bucket, key)
        return f"s3://{bucket}/{key}"


@contextmanager
def running_s3_server(region: str = "us-east-1") -> Iterator[S3Server]:
    """Run moto's S3 server on 127.0.0.1 at a free port for the duration of the block.

    Every wait is bounded: a server that does not start within 30 s raises
    `RuntimeError`, and stopping gives up after 10 s (its thread is a daemon).
    """
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as error:  # flask / flask-cors missing
        raise RuntimeError(
            f"the test S3 server needs moto's server extra: pip install 'moto[server]' ({error})"
        ) from error

    # werkzeug logs every request at INFO on stderr; keep its warnings and errors only.
    request_log = logging.getLogger("werkzeug")
    previous_level = request_log.level
    request_log.setLevel(max(previous_level, logging.WARNING))
    server = ThreadedMotoServer(ip_address=_HOST, port=0, verbose=False)
    # `start()` waits without a timeout for the server socket; run it where we can give up.
    _run_bounded(server.start, _START_TIMEOUT_S, "start moto's S3 server")
    try:
        host, port = server.get_host_and_port()
        if host != _HOST:  # never listen beyond loopback
            raise RuntimeError(f"moto's S3 server listens on {host}, not {_HOST}")
        _wait_for_port(host, port, _START_TIMEOUT_S)
        yield S3Server(endpoint_url=f"http://{host}:{port}", region=region)
    finally:
        try:
            _run_bounded(server.stop, _STOP_TIMEOUT_S, "stop moto's S3 server")
        finally:
            request_log.setLevel(previous_level)


def _run_bounded(function: Any, timeout_s: float, what: str) -> None:
    errors: list[BaseException] = []

    def target() -> None:
        try:
            function()
        except BaseException as error:  # noqa: BLE001 - re-raised in the caller
            errors.append(error)

    thread = threading.Thread(target=target, name=what, daemon=True)
    thread.start()
    thread.join(timeout_s)
    if thread.is_alive():
        raise RuntimeError(f"could not {what} within {timeout_s:.0f} s")
    if errors:
        raise RuntimeError(f"could not {what}: {errors[0]}") from errors[0]


def _wait_for_port(host: str, port: int, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            with socket.create_connection((host, port), timeout=1.0):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise RuntimeError(f"nothing accepts connections on {host}:{port}") from None
            time.sleep(0.05)
