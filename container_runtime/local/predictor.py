"""`Predictor`: send data to a local endpoint and decode the answer, as the SageMaker SDK's predictors do.

Requests are serialized like the SDK's serializers (NPY, JSON, CSV, JSON Lines); answers are
decoded by the Content-Type the endpoint chose. HTTP goes through urllib, never a proxy for a
loopback address. numpy is imported only when an NPY body is built or read.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import urlparse
from urllib.request import ProxyHandler, Request, build_opener

from container_runtime.local.errors import LocalModeError

NPY = "application/x-npy"
JSON = "application/json"
CSV = "text/csv"
JSONLINES = "application/jsonlines"
#: The types both sides know: without an explicit `accept`, the answer is asked in the request's type.
KNOWN_TYPES = (NPY, JSON, CSV, JSONLINES)
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class Predictor:
    """Queries one endpoint, given by URL or by name (looked up under `endpoints_dir`).

    `owned=True` (set by the deploy callers) makes `with deploy(...) as predictor:` stop the
    endpoint on leaving the block; `name` lets a Predictor given a URL stop it by name.
    """

    def __init__(
        self,
        endpoint: str,
        *,
        content_type: str = JSON,
        accept: str | None = None,
        endpoints_dir: Path | None = None,
        timeout: float = 60.0,
        name: str | None = None,
        owned: bool = False,
    ) -> None:
        self.content_type = content_type
        self.accept = accept
        self.timeout = timeout
        self.owned = owned
        self.endpoints_dir = _endpoints_dir(endpoints_dir)
        self.endpoint_name = name
        if "://" in endpoint:
            parsed = urlparse(endpoint)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise LocalModeError(f"endpoint {endpoint!r}: expected an http:// URL or an endpoint name")
            self.url = endpoint.rstrip("/")
        else:
            from container_runtime.local.endpoints import find_endpoint

            self.url = find_endpoint(endpoint, self.endpoints_dir).url
            self.endpoint_name = endpoint
        host = urlparse(self.url).hostname or ""
        # A loopback endpoint must not be sent to an HTTP_PROXY from the environment.
        self._opener = build_opener(ProxyHandler({})) if host in LOOPBACK else build_opener()

    def __repr__(self) -> str:
        return f"Predictor({self.endpoint_name or self.url!r}, content_type={self.content_type!r})"

    def predict(self, data: Any, *, content_type: str | None = None, accept: str | None = None) -> Any:
        """POST `data` to /invocations; returns the answer decoded by its Content-Type."""
        content_type = content_type or self.content_type
        accept = accept or self.accept or (content_type if _media_type(content_type) in KNOWN_TYPES else None)
        body, answer_type = self.invoke(serialize(data, content_type), content_type, accept)
        return deserialize(body, answer_type)

    def invoke(self, body: bytes, content_type: str, accept: str | None = None) -> tuple[bytes, str]:
        """POST a ready body to /invocations; returns the answer's bytes and Content-Type, undecoded
        (for callers that decode it themselves, as the SDK's deserializers do)."""
        headers = {"Content-Type": content_type}
        if accept:
            headers["Accept"] = accept
        request = Request(f"{self.url}/invocations", data=body, headers=headers, method="POST")
        try:
            with self._opener.open(request, timeout=self.timeout) as response:
                return response.read(), response.headers.get("Content-Type") or ""
        except HTTPError as error:
            with error:
                raise LocalModeError(f"endpoint answered {error_line(error.code, error.read())}") from None
        except (URLError, OSError) as error:
            reason = getattr(error, "reason", None) or error
            if isinstance(reason, TimeoutError):
                raise LocalModeError(f"the endpoint at {self.url} did not answer within {self.timeout:g} s") from None
            hint = f"; is endpoint {self.endpoint_name} still running?" if self.endpoint_name else ""
            raise LocalModeError(f"cannot reach the endpoint at {self.url}: {reason}{hint}") from None

    def delete_endpoint(self) -> None:
        """Stop the endpoint's serve: only possible for one known by name."""
        if self.endpoint_name is None:
            raise LocalModeError(f"the endpoint at {self.url} was given by URL: stop its server yourself")
        from container_runtime.local.endpoints import stop_endpoint

        stop_endpoint(self.endpoint_name, self.endpoints_dir)

    def __enter__(self) -> Predictor:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.owned:
            self.delete_endpoint()


def _endpoints_dir(endpoints_dir: Path | None) -> Path:
    if endpoints_dir is not None:
        return Path(endpoints_dir)
    from container_runtime.local.settings import default_endpoints_dir

    return default_endpoints_dir()


def _media_type(content_type: str | None) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


# --- serializing -------------------------------------------------------------------------------


def serialize(data: Any, content_type: str) -> bytes:
    """A request body in `content_type`, as the SDK's serializer for it writes one; bytes pass as they are."""
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if hasattr(data, "read"):
        content = data.read()
        return content.encode() if isinstance(content, str) else bytes(content)
    media = _media_type(content_type)
    if media == NPY:
        return _npy_bytes(data)
    if media == CSV:
        return _csv_text(data).encode()
    if media == JSONLINES:
        if isinstance(data, str):
            return data.encode()
        return "".join(json.dumps(item, default=_plain) + "\n" for item in _plain(data)).encode()
    if media == JSON or media.endswith("+json"):
        return json.dumps(data, default=_plain).encode()
    if isinstance(data, str):
        return data.encode()
    raise LocalModeError(f"cannot serialize {type(data).__name__} as {content_type}: pass bytes")


def _plain(value: Any) -> Any:
    """numpy arrays and scalars as lists and numbers, for JSON."""
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _npy_bytes(data: Any) -> bytes:
    import numpy as np

    try:
        array = np.asarray(data)
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
    except ValueError as error:
        raise LocalModeError(f"cannot send {type(data).__name__} as {NPY}: {error}") from None
    return buffer.getvalue()


def _csv_text(data: Any) -> str:
    """One line for a 1-D sequence, one line per row for a 2-D one (as the SDK's CSVSerializer)."""
    if isinstance(data, str):
        return data
    if hasattr(data, "tolist"):
        data = data.tolist()
    if not isinstance(data, Iterable):
        return str(data)
    rows = list(data)
    if rows and all(isinstance(row, Iterable) and not isinstance(row, str) for row in rows):
        return "\n".join(",".join(str(value) for value in row) for row in rows)
    return ",".join(str(value) for value in rows)


# --- deserializing -----------------------------------------------------------------------------


def deserialize(body: bytes, content_type: str) -> Any:
    """The answer by its type: an array (NPY), parsed JSON, rows of numbers (CSV), a list (JSON Lines)."""
    media = _media_type(content_type)
    try:
        if media == NPY:
            import numpy as np

            return np.load(io.BytesIO(body), allow_pickle=False)
        if media == JSON or media.endswith("+json"):
            return json.loads(body)
        if media == CSV:
            return [[_number_or_text(cell) for cell in row] for row in csv.reader(io.StringIO(body.decode())) if row]
        if media in (JSONLINES, "application/jsonl", "application/x-ndjson"):
            return [json.loads(line) for line in body.decode().splitlines() if line.strip()]
        if media.startswith("text/"):
            return body.decode(errors="replace")
    except ValueError as error:  # also UnicodeDecodeError and numpy's format errors
        raise LocalModeError(f"the endpoint's {media} answer does not decode: {error}") from None
    return body


def _number_or_text(cell: str) -> float | str:
    try:
        return float(cell)
    except ValueError:
        return cell


def error_line(status: int, body: bytes) -> str:
    """`400 InvalidInput: ...` from serve's `{"error", "message"}` body, else the body's first 300 characters."""
    try:
        document = json.loads(body)
    except ValueError:
        document = None
    if isinstance(document, dict) and ("error" in document or "message" in document):
        label = " ".join(part for part in (str(status), str(document.get("error") or "")) if part)
        message = " ".join(str(document.get("message") or "").split())
        return f"{label}: {message}" if message else label
    text = " ".join(body.decode(errors="replace").split())
    text = text[:300] + "..." if len(text) > 300 else text
    return f"{status}: {text}" if text else str(status)
