"""The dashboard's HTTP server: JSON routes over the records, the static page, and the token.

Reading is open to whoever can reach the port (loopback by default); anything that changes state
or sends traffic (stop a job or an endpoint, a prediction, optuna-dashboard on a study) needs the
per-run token the CLI printed, in the `X-Dashboard-Token` header or a `token` form field. Every
name in a URL must be a SageMaker name, and every file served must resolve inside its record's dir.
"""

from __future__ import annotations

import hmac
import json
import mimetypes
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from container_runtime.local.dashboard import endpoints as ep
from container_runtime.local.dashboard.files import OutsideRecords, contained, read_tail
from container_runtime.local.dashboard.records import FileCache, Home, job_detail, job_dir, list_jobs, valid_name
from container_runtime.local.dashboard.stopping import CannotStop, stop_job
from container_runtime.local.dashboard.study_views import StudyViews
from container_runtime.local.dashboard.study_views import available as optuna_dashboard_available
from container_runtime.local.dashboard.tuning import list_tuning_jobs, tuning_dir, tuning_summary
from container_runtime.local.endpoints import RECORD_FILE, EndpointRecord, read_record, stop_endpoint
from container_runtime.local.errors import LocalModeError

STATIC = Path(__file__).resolve().parent / "static"
TOKEN_HEADER = "X-Dashboard-Token"
MAX_BODY = 10 << 20
LOOPBACK = ("127.0.0.1", "localhost", "::1")


class HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status


class DashboardServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], home: Home, token: str) -> None:
        self.study_views = StudyViews()  # first: a failed bind calls server_close
        super().__init__(address, Handler)
        self.home = home
        self.token = token
        self.cache = FileCache()

    def server_close(self) -> None:
        self.study_views.close()
        super().server_close()

    @property
    def url(self) -> str:
        host, port = str(self.server_address[0]), int(self.server_address[1])
        shown = "127.0.0.1" if host in ("", "0.0.0.0") else f"[{host}]" if ":" in host else host
        return f"http://{shown}:{port}/"


class Handler(BaseHTTPRequestHandler):
    server: DashboardServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """Quiet: the terminal shows the URL, not every poll."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        self._answer(self._get)

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self._answer(self._post)

    def _answer(self, route: Any) -> None:
        try:
            self._check_host()
            parts, query = self._parts()
            route(parts, query)
        except HttpError as error:
            self._json({"error": str(error)}, error.status)
        except CannotStop as error:
            self._json({"error": str(error)}, HTTPStatus.CONFLICT)
        except OutsideRecords as error:
            self._json({"error": str(error)}, HTTPStatus.FORBIDDEN)
        except LocalModeError as error:
            self._json({"error": str(error)}, HTTPStatus.NOT_FOUND)

    def _check_host(self) -> None:
        """On loopback, only requests addressed to loopback: a web page whose name was rebound to
        127.0.0.1 (DNS rebinding) must not read the records through the user's browser."""
        if str(self.server.server_address[0]) not in LOOPBACK:
            return
        host = urllib.parse.urlsplit("//" + (self.headers.get("Host") or "")).hostname or ""
        if host not in LOOPBACK:
            raise HttpError(HTTPStatus.FORBIDDEN, f"Host {host!r}: the dashboard answers requests to 127.0.0.1 only")

    def _parts(self) -> tuple[list[str], dict[str, str]]:
        split = urllib.parse.urlsplit(self.path)
        parts = [urllib.parse.unquote(part) for part in split.path.split("/") if part]
        query = {key: values[-1] for key, values in urllib.parse.parse_qs(split.query).items()}
        return parts, query

    # Reading.

    def _get(self, parts: list[str], query: dict[str, str]) -> None:
        home, cache = self.server.home, self.server.cache
        if not parts or parts == ["index.html"]:
            return self._file(STATIC / "index.html")
        if parts[0] == "static" and len(parts) == 2:
            return self._file(contained(STATIC, parts[1]))
        if parts[0] != "api" or len(parts) < 2:
            raise HttpError(HTTPStatus.NOT_FOUND, f"no page {self.path}")
        kind, rest = parts[1], parts[2:]
        if kind == "jobs":
            jobs_dir = self._jobs_dir(query)
            if not rest:
                return self._json({"jobs": list_jobs(jobs_dir, cache)})
            name = _name(rest[0], "job")
            if len(rest) == 1:
                return self._json(job_detail(jobs_dir, name))
            if len(rest) == 3 and rest[1] == "logs":
                return self._log(job_dir(jobs_dir, name), _name(rest[2], "host"), query)
            if len(rest) == 3 and rest[1] == "artifacts":
                return self._file(contained(job_dir(jobs_dir, name) / "output", rest[2]), download=True)
        elif kind == "tuning":
            if not rest:
                return self._json({"tuning_jobs": list_tuning_jobs(home.tuning, cache)})
            if len(rest) == 1:
                summary = tuning_summary(tuning_dir(home.tuning, _name(rest[0], "tuning job")), cache)
                return self._json({**summary, "optuna_dashboard": optuna_dashboard_available()})
        elif kind == "endpoints":
            if not rest:
                return self._json({"endpoints": ep.list_endpoint_rows(home.endpoints)})
            if len(rest) == 1:
                return self._json(ep.endpoint_status(self._endpoint(rest[0])))
        raise HttpError(HTTPStatus.NOT_FOUND, f"no route {self.path}")

    def _jobs_dir(self, query: dict[str, str]) -> Path:
        """Home's jobs, or a tuning job's trials (`?tuning=NAME`)."""
        if "tuning" not in query:
            return self.server.home.jobs
        return tuning_dir(self.server.home.tuning, _name(query["tuning"], "tuning job")) / "jobs"

    def _log(self, root: Path, host: str, query: dict[str, str]) -> None:
        path = contained(root / "logs", f"{host}.log")
        if not path.is_file():
            raise HttpError(HTTPStatus.NOT_FOUND, f"no log for host {host}")
        try:
            offset = int(query.get("offset", "0"))
        except ValueError:
            raise HttpError(HTTPStatus.BAD_REQUEST, f"offset {query['offset']!r}: expected an integer") from None
        data, following = read_tail(path, offset)
        self._json({"host": host, "offset": offset, "next": following, "text": data.decode(errors="replace")})

    def _endpoint(self, name: str) -> EndpointRecord:
        path = self.server.home.endpoints / _name(name, "endpoint") / RECORD_FILE
        if not path.is_file():
            raise HttpError(HTTPStatus.NOT_FOUND, f"no endpoint named {name!r}")
        return read_record(path)

    # Acting: the token first, before reading anything else of the request.

    def _post(self, parts: list[str], query: dict[str, str]) -> None:
        body = self._body()
        form = self._form(body)
        given = self.headers.get(TOKEN_HEADER) or form.get("token") or ""
        if not hmac.compare_digest(given.encode(), self.server.token.encode()):
            raise HttpError(HTTPStatus.FORBIDDEN, "this action needs the token that `container-runtime ui` printed")
        if parts[:2] == ["api", "jobs"] and len(parts) == 4 and parts[3] == "stop":
            if "tuning" in query:
                raise CannotStop("a tuning job's trials stop with their tuning job")
            pid = stop_job(job_dir(self.server.home.jobs, _name(parts[2], "job")))
            return self._json({"stopping": parts[2], "pid": pid})
        if parts[:2] == ["api", "tuning"] and len(parts) == 4 and parts[3] == "optuna-dashboard":
            directory = tuning_dir(self.server.home.tuning, _name(parts[2], "tuning job"))
            return self._json({"url": self.server.study_views.url(directory)})
        if len(parts) == 4 and parts[:2] == ["api", "endpoints"]:
            record = self._endpoint(parts[2])
            if parts[3] == "stop":
                stop_endpoint(record.name, self.server.home.endpoints, grace_seconds=10.0)
                return self._json({"stopped": record.name})
            if parts[3] == "invocations":
                content_type = self.headers.get("Content-Type", "application/json").split(";")[0]
                accept = self.headers.get("Accept", "application/json")
                status, answer_type, answer = ep.invoke(record, body, content_type, accept)
                return self._json({"status": status, "content_type": answer_type,
                                   "body": answer.decode(errors="replace")})
        raise HttpError(HTTPStatus.NOT_FOUND, f"no action {self.path}")

    def _body(self) -> bytes:
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise HttpError(HTTPStatus.BAD_REQUEST, "Content-Length: expected an integer") from None
        if length < 0 or length > MAX_BODY:
            raise HttpError(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"body of {length} bytes: at most {MAX_BODY}")
        return self.rfile.read(length) if length else b""

    def _form(self, body: bytes) -> dict[str, str]:
        if self.headers.get("Content-Type", "").split(";")[0] != "application/x-www-form-urlencoded":
            return {}
        pairs = urllib.parse.parse_qs(body.decode(errors="replace"))
        return {key: values[-1] for key, values in pairs.items()}

    # Writing answers.

    def _json(self, document: Any, status: HTTPStatus = HTTPStatus.OK) -> None:
        self._send(status, "application/json", json.dumps(document, default=str).encode())

    def _file(self, path: Path, download: bool = False) -> None:
        if not path.is_file():
            raise HttpError(HTTPStatus.NOT_FOUND, f"no file {path.name}")
        kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        headers = {"Content-Disposition": f'attachment; filename="{path.name}"'} if download else {}
        self._send(HTTPStatus.OK, kind, path.read_bytes(), headers)

    def _send(self, status: HTTPStatus, kind: str, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)


def _name(text: str, what: str) -> str:
    if not valid_name(text):
        raise HttpError(HTTPStatus.BAD_REQUEST, f"{what} {text!r}: not a name (letters, digits and hyphens)")
    return text


def make_server(home: Home, host: str, port: int, token: str) -> DashboardServer:
    """Bound now (port 0: a free one), served by `serve_forever`."""
    try:
        return DashboardServer((host, port), home, token)
    except OSError as error:
        raise LocalModeError(f"ui: cannot listen on {host}:{port}: {error.strerror or error}") from None
