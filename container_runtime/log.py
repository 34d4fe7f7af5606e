"""The runtime's own log lines: one line per event, timestamped, on stderr.

The standard `logging` package costs about 8 ms of imports (traceback, threading, string...)
on the path from `train` to the user script, a sixth of our start-up budget, so the runtime
uses this small logger instead. Framework adapters and user code may use `logging` freely.
"""

from __future__ import annotations

import sys
import time
from typing import Any, TextIO

DEBUG, INFO, WARNING, ERROR = 10, 20, 30, 40
_LEVEL_NAMES = {DEBUG: "DEBUG", INFO: "INFO", WARNING: "WARNING", ERROR: "ERROR"}
_settings: dict[str, Any] = {"level": INFO, "stream": None}
_stamp: list[Any] = [-1, ""]  # [second, its formatted time]: serve's access lines come thousands a second


def configure(level: int = INFO, stream: TextIO | None = None) -> None:
    """Set the threshold and the stream (default: the current `sys.stderr`)."""
    _settings["level"] = level
    _settings["stream"] = stream


class Logger:
    """`logging.Logger`'s message API (`%`-style arguments), without its import cost."""

    def __init__(self, name: str) -> None:
        self.name = name

    def debug(self, message: str, *args: object) -> None:
        self._emit(DEBUG, message, args)

    def info(self, message: str, *args: object) -> None:
        self._emit(INFO, message, args)

    def warning(self, message: str, *args: object) -> None:
        self._emit(WARNING, message, args)

    def error(self, message: str, *args: object) -> None:
        self._emit(ERROR, message, args)

    def _emit(self, level: int, message: str, args: tuple[object, ...]) -> None:
        if level < _settings["level"]:
            return
        now = time.time()
        second = int(now)
        if second != _stamp[0]:
            _stamp[:] = [second, time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(second))]
        stamp = _stamp[1]
        text = message % args if args else message
        stream: TextIO = _settings["stream"] or sys.stderr
        try:
            stream.write(f"{stamp},{int(now * 1000) % 1000:03d} [runtime] {_LEVEL_NAMES.get(level, level)} {text}\n")
            stream.flush()
        except (OSError, ValueError):
            pass


def get_logger(name: str) -> Logger:
    return Logger(name)
