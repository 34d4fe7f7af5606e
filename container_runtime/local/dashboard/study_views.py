"""A tuning job's study in optuna-dashboard (when installed: `pip install 'container-runtime[dashboard]'`).

optuna-dashboard renders every Optuna study view (history, slices, contours, importances) from its
own wheel; we start it on demand, one per tuning job, on 127.0.0.1 and a free port, over the same
journal the tuner writes. It can change the study (notes, deleting it), so only a request with the
dashboard's token starts it.
"""

from __future__ import annotations

import importlib.util
import threading
from pathlib import Path
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from container_runtime.local.errors import LocalModeError

JOURNAL = "journal.log"


def available() -> bool:
    return importlib.util.find_spec("optuna_dashboard") is not None


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        """The page's polls are not news."""


class StudyViews:
    """The optuna-dashboard servers started so far, by tuning job: started once, stopped with ours."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._servers: dict[str, tuple[WSGIServer, str]] = {}

    def url(self, tuning_dir: Path) -> str:
        name = tuning_dir.name
        with self._lock:
            if name not in self._servers:
                self._servers[name] = _start(tuning_dir)
            return self._servers[name][1]

    def close(self) -> None:
        with self._lock:
            for server, _ in self._servers.values():
                server.shutdown()
                server.server_close()
            self._servers.clear()


def _start(tuning_dir: Path) -> tuple[WSGIServer, str]:
    if not available():
        raise LocalModeError("optuna-dashboard is not installed: pip install 'container-runtime[dashboard]'")
    if not (tuning_dir / JOURNAL).is_file():
        raise LocalModeError(f"tuning job {tuning_dir.name} has no {JOURNAL}: its study is in another storage")
    import optuna_dashboard

    from container_runtime.local.tuning.storage import open_storage

    storage = open_storage(None, tuning_dir)
    try:
        study_id = storage.get_study_id_from_name(tuning_dir.name)
    except KeyError:
        raise LocalModeError(f"{tuning_dir / JOURNAL} holds no study named {tuning_dir.name}") from None
    server = make_server("127.0.0.1", 0, optuna_dashboard.wsgi(storage), handler_class=_Quiet)
    threading.Thread(target=server.serve_forever, name=f"optuna-dashboard-{tuning_dir.name}", daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_port}/dashboard/studies/{study_id}"
