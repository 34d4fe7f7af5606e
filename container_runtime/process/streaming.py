"""Copying a child's output to ours byte for byte, and keeping the tail for failure reports."""

from __future__ import annotations

import re
from collections import deque
from typing import BinaryIO

#: Flush a line that never ends (a progress bar without `\r`) once it is this long.
MAX_PENDING_BYTES = 64 * 1024
#: The tail keeps at most this much of an unfinished line (it is for people to read).
MAX_TAIL_LINE_BYTES = 8 * 1024
_ANSI_ESCAPE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])")


class OutputRelay:
    """Relays bytes to `sink` at each `\\n` or `\\r`, unchanged, so progress bars stay live.

    With `tail_lines`, the last lines are also kept as readable text: escape sequences are
    removed and a line rewritten with `\\r` keeps only its last state.
    """

    def __init__(self, sink: BinaryIO | None, tail_lines: int = 0) -> None:
        self._sink = sink
        self._pending = b""
        self._tail: deque[str] | None = deque(maxlen=tail_lines) if tail_lines else None
        self._tail_partial = b""

    def feed(self, data: bytes) -> None:
        self._pending += data
        cut = max(self._pending.rfind(b"\n"), self._pending.rfind(b"\r")) + 1
        if len(self._pending) - cut >= MAX_PENDING_BYTES:
            cut = len(self._pending)
        if cut:
            self._emit(self._pending[:cut])
            self._pending = self._pending[cut:]

    def close(self) -> None:
        if self._pending:
            self._emit(self._pending)
            self._pending = b""
        if self._tail is not None and self._tail_partial:
            self._remember(self._tail_partial)
            self._tail_partial = b""

    def tail(self) -> tuple[str, ...]:
        return tuple(self._tail) if self._tail is not None else ()

    def _emit(self, chunk: bytes) -> None:
        if self._sink is not None:
            try:
                self._sink.write(chunk)
                self._sink.flush()
            except (BrokenPipeError, ValueError):
                # Whoever read our output went away; keep draining the child regardless.
                self._sink = None
        if self._tail is not None:
            lines = (self._tail_partial + chunk).split(b"\n")
            self._tail_partial = _last_state(lines.pop())
            for line in lines:
                self._remember(line)

    def _remember(self, line: bytes) -> None:
        if self._tail is None:
            return
        text = line.decode("utf-8", "replace").rstrip("\r")
        text = _ANSI_ESCAPE.sub("", text.rsplit("\r", 1)[-1])
        if text.strip():
            self._tail.append(text)


def _last_state(partial: bytes) -> bytes:
    """What a terminal would show of an unfinished line: after its last rewrite, bounded."""
    rewrite = partial.rstrip(b"\r").rfind(b"\r")
    if rewrite >= 0:
        partial = partial[rewrite + 1 :]
    return partial[-MAX_TAIL_LINE_BYTES:]
