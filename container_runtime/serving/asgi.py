"""The app over ASGI, for batching workers: each request is a coroutine on the worker's loop.

Reads the body (stopping early when it is over the payload limit, as the WSGI path does), hands
the request to `InvocationApp.respond` as a WSGI-style environ, and sends its answer. While a
body is still arriving in several parts, the batcher is told, so a flush may wait for it.
"""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

from container_runtime.serving.batching import Batcher
from container_runtime.serving.wsgi import DRAIN_FACTOR, InvocationApp

Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


class AsgiApp:
    def __init__(self, app: InvocationApp, batcher: Batcher | None) -> None:
        self.app = app
        self.batcher = batcher
        self.max_payload_bytes = app.max_payload_bytes

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        environ = _environ(scope)
        environ["wsgi.input"] = io.BytesIO(await self._read_body(environ, receive))
        status, headers, body = await self.app.respond(environ)
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(name.encode("latin-1"), value.encode("latin-1")) for name, value in headers],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def _read_body(self, environ: dict[str, Any], receive: Receive) -> bytes:
        """The body, or as much of it as the app needs to answer 413 (over the limit) or 400."""
        keep = self.max_payload_bytes + 1
        declared = environ.get("CONTENT_LENGTH")
        if declared:
            try:
                length = int(declared)
            except ValueError:
                return b""  # the app answers 400
            if length > DRAIN_FACTOR * self.max_payload_bytes:
                return b""  # the app answers 413 without reading it
            if length > self.max_payload_bytes:
                keep = 0  # read (so the client gets the 413, not a broken pipe) and drop
        message = await receive()
        chunk: bytes = message.get("body", b"")
        if not message.get("more_body", False):
            return chunk[:keep] if len(chunk) > keep else chunk
        if self.batcher is not None:
            self.batcher.arriving()
        try:
            return await _rest_of_body(receive, chunk, keep, drain=bool(declared))
        finally:
            if self.batcher is not None:
                self.batcher.arrived()


async def _rest_of_body(receive: Receive, first: bytes, keep: int, *, drain: bool) -> bytes:
    """Read on: keep up to `keep` bytes; past that, stop unless `drain` (a declared length)."""
    parts = [first]
    kept = len(first)
    while kept <= keep or drain:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk: bytes = message.get("body", b"")
        if kept <= keep:
            parts.append(chunk)
            kept += len(chunk)
        if not message.get("more_body", False):
            break
    body = b"".join(parts)
    return body[:keep] if len(body) > keep else body


def _environ(scope: dict[str, Any]) -> dict[str, Any]:
    """The WSGI variables the app reads: method, path and headers."""
    environ: dict[str, Any] = {"REQUEST_METHOD": scope["method"], "PATH_INFO": scope["path"]}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").upper().replace("-", "_")
        if name not in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = "HTTP_" + name
        value = raw_value.decode("latin-1")
        environ[name] = f"{environ[name]},{value}" if name in environ else value
    return environ
