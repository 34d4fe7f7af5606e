"""`OutputRelay`: byte-exact relaying at line/CR boundaries, the 64 KiB cap, and the readable tail."""

from __future__ import annotations

import tracemalloc
from collections.abc import Iterator

import pytest

from container_runtime.process.streaming import MAX_PENDING_BYTES, OutputRelay


class Sink:
    """A BinaryIO stand-in that records writes and flushes."""

    def __init__(self) -> None:
        self.data = bytearray()
        self.writes: list[bytes] = []
        self.flushes = 0

    def write(self, chunk: bytes) -> int:
        self.writes.append(bytes(chunk))
        self.data += chunk
        return len(chunk)

    def flush(self) -> None:
        self.flushes += 1


class BrokenSink(Sink):
    """Raises `error` on the write (or flush) number `fail_at` and counts every attempt."""

    def __init__(self, error: type[Exception], *, fail_at: int = 1, in_flush: bool = False) -> None:
        super().__init__()
        self.error = error
        self.fail_at = fail_at
        self.in_flush = in_flush
        self.attempts = 0

    def write(self, chunk: bytes) -> int:
        self.attempts += 1
        if not self.in_flush and self.attempts >= self.fail_at:
            raise self.error("reader went away")
        return super().write(chunk)

    def flush(self) -> None:
        if self.in_flush and self.attempts >= self.fail_at:
            raise self.error("reader went away")
        super().flush()


PAYLOADS = {
    "progress-cr": b"epoch 1\r 10%\r 50%\x1b[J\r100%\nline two\n",
    "crlf": b"windows line\r\nsecond\r\n",
    "invalid-utf8": b"\xff\xfe invalid \xe2\x82 utf8\r\nok\n",
    "multibyte": "h\u00e9llo \u4e2d\u6587 \U0001f600\n".encode(),
    "ansi": b"\x1b[31mred\x1b[0m \x1b[1;32mbold green\x1b[m\n\x1b[2K\rcleared\n",
    "no-final-newline": b"first\nunterminated tail",
    "only-cr": b"\r\r\r",
    "blank-lines": b"\n\n  \n\t\nx\n",
    "nul-and-controls": b"a\x00b\x07c\x08d\n",
}

EXPECTED_TAILS = {
    "progress-cr": ("100%", "line two"),
    "crlf": ("windows line", "second"),
    "invalid-utf8": ("\ufffd\ufffd invalid \ufffd utf8", "ok"),
    "multibyte": ("h\u00e9llo \u4e2d\u6587 \U0001f600",),
    "ansi": ("red bold green", "cleared"),
    "no-final-newline": ("first", "unterminated tail"),
    "only-cr": (),
    "blank-lines": ("x",),
    "nul-and-controls": ("a\x00b\x07c\x08d",),
}


def splits(data: bytes) -> Iterator[list[bytes]]:
    """Every single cut, every pair of cuts, byte by byte, and a few fixed chunk sizes."""
    yield [data]
    for cut in range(len(data) + 1):
        yield [data[:cut], data[cut:]]
    for first in range(1, len(data)):
        for second in range(first + 1, len(data)):
            yield [data[:first], data[first:second], data[second:]]
    yield [bytes([byte]) for byte in data]
    for size in (2, 3, 7):
        yield [data[i : i + size] for i in range(0, len(data), size)]


def relay_all(chunks: list[bytes], tail_lines: int = 10) -> tuple[bytes, tuple[str, ...]]:
    sink = Sink()
    relay = OutputRelay(sink, tail_lines=tail_lines)  # type: ignore[arg-type]
    for chunk in chunks:
        relay.feed(chunk)
    relay.close()
    return bytes(sink.data), relay.tail()


@pytest.mark.parametrize("name", list(PAYLOADS))
def test_bytes_relayed_exactly_and_tail_independent_of_chunking(name: str) -> None:
    payload = PAYLOADS[name]
    for chunks in splits(payload):
        relayed, tail = relay_all(chunks)
        assert relayed == payload, chunks
        assert tail == EXPECTED_TAILS[name], chunks


def test_all_payloads_concatenated_across_scattered_cuts() -> None:
    payload = b"".join(PAYLOADS.values())
    for offset in range(1, 23):
        cuts = sorted({(offset * k * 7919) % len(payload) for k in range(1, 12)})
        chunks = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)], strict=True)]
        relayed, _ = relay_all(chunks, tail_lines=100)
        assert relayed == payload


@pytest.mark.parametrize(
    "feeds, expected_after_each",
    [
        pytest.param([b"abc", b"def\rgh", b"i\nj"], [b"", b"abcdef\r", b"abcdef\rghi\n"], id="flush-at-cr-and-lf"),
        pytest.param([b"a\n", b"b", b"c"], [b"a\n", b"a\n", b"a\n"], id="partial-line-waits"),
        pytest.param([b"\r"], [b"\r"], id="lone-cr"),
        pytest.param([b"x\ry\nz"], [b"x\ry\n"], id="up-to-last-boundary"),
        pytest.param([b"x\ny\rz"], [b"x\ny\r"], id="cr-after-lf"),
        pytest.param([b""], [b""], id="empty-feed"),
    ],
)
def test_flush_points(feeds: list[bytes], expected_after_each: list[bytes]) -> None:
    sink = Sink()
    relay = OutputRelay(sink)  # type: ignore[arg-type]
    for feed, expected in zip(feeds, expected_after_each, strict=True):
        relay.feed(feed)
        assert bytes(sink.data) == expected
    assert sink.flushes == len(sink.writes)
    relay.close()
    assert bytes(sink.data) == b"".join(feeds)


@pytest.mark.parametrize(
    "feeds, flushed_after_each",
    [
        pytest.param([b"x" * (MAX_PENDING_BYTES - 1)], [0], id="below-cap-waits"),
        pytest.param([b"x" * (MAX_PENDING_BYTES - 1), b"x"], [0, MAX_PENDING_BYTES], id="cap-reached-flushes"),
        pytest.param([b"x" * MAX_PENDING_BYTES], [MAX_PENDING_BYTES], id="exactly-cap"),
        pytest.param([b"x" * (3 * MAX_PENDING_BYTES + 5)], [3 * MAX_PENDING_BYTES + 5], id="one-huge-chunk"),
        pytest.param([b"x" * 1000] * 66, [0] * 65 + [66_000], id="many-small-chunks"),
        pytest.param(
            [b"x" * (MAX_PENDING_BYTES + 10) + b"\nabc"], [MAX_PENDING_BYTES + 11], id="newline-after-long-line"
        ),
    ],
)
def test_64_kib_cap(feeds: list[bytes], flushed_after_each: list[int]) -> None:
    assert MAX_PENDING_BYTES == 64 * 1024
    sink = Sink()
    relay = OutputRelay(sink)  # type: ignore[arg-type]
    for feed, expected in zip(feeds, flushed_after_each, strict=True):
        relay.feed(feed)
        assert len(sink.data) == expected
    relay.close()
    assert bytes(sink.data) == b"".join(feeds)


def test_cap_applies_to_the_part_after_the_last_newline() -> None:
    sink = Sink()
    relay = OutputRelay(sink)  # type: ignore[arg-type]
    relay.feed(b"done\n" + b"x" * MAX_PENDING_BYTES)
    assert len(sink.data) == 5 + MAX_PENDING_BYTES


@pytest.mark.parametrize(
    "tail_lines, lines, expected",
    [
        pytest.param(3, [f"line {i}" for i in range(10)], ("line 7", "line 8", "line 9"), id="last-three"),
        pytest.param(1, ["a", "b"], ("b",), id="last-one"),
        pytest.param(5, ["a", "b"], ("a", "b"), id="fewer-than-n"),
        pytest.param(0, ["a", "b"], (), id="no-tail"),
        pytest.param(2, ["a", "", "  ", "b", "\t"], ("a", "b"), id="blank-lines-not-counted"),
        pytest.param(3, ["  indented  ", "trailing "], ("  indented  ", "trailing "), id="whitespace-kept"),
    ],
)
def test_tail_keeps_last_n_lines(tail_lines: int, lines: list[str], expected: tuple[str, ...]) -> None:
    relay = OutputRelay(Sink(), tail_lines=tail_lines)  # type: ignore[arg-type]
    relay.feed("".join(f"{line}\n" for line in lines).encode())
    relay.close()
    assert relay.tail() == expected


@pytest.mark.parametrize(
    "line, expected",
    [
        pytest.param(b"\x1b[31mred\x1b[0m", "red", id="sgr-colour"),
        pytest.param(b"\x1b[1;4;38;5;208mx\x1b[m", "x", id="sgr-256"),
        pytest.param(b"a\x1b[Jb", "ab", id="erase-below"),
        pytest.param(b"a\x1b[2Kb", "ab", id="erase-line"),
        pytest.param(b"\x1b[?25lcursor\x1b[?25h", "cursor", id="private-mode"),
        pytest.param(b"up\x1b[1A\x1b[10G", "up", id="cursor-moves"),
        pytest.param(b"\x1bMreverse", "reverse", id="two-char-escape"),
        pytest.param(b"10%\r20%\r30%", "30%", id="cr-keeps-last-state"),
        pytest.param(b"done\r", "done", id="trailing-cr"),
        pytest.param(b"\r\r\rx", "x", id="leading-crs"),
        pytest.param(b"\r  0%|   | 0/10\r 100%|###| 10/10", " 100%|###| 10/10", id="tqdm"),
        pytest.param(b"\x1b[2K\r 50%\x1b[2K\r100%\x1b[0m", "100%", id="ansi-and-cr"),
        pytest.param(b"old\r\x1b[K", None, id="cleared-line-dropped"),
        pytest.param(b"x\r   ", None, id="overwritten-by-blanks-dropped"),
    ],
)
def test_tail_line_rendering(line: bytes, expected: str | None) -> None:
    relay = OutputRelay(None, tail_lines=5)
    relay.feed(b"before\n" + line + b"\nafter\n")
    relay.close()
    assert relay.tail() == (("before", expected, "after") if expected is not None else ("before", "after"))


@pytest.mark.parametrize("error", [BrokenPipeError, ValueError], ids=["broken-pipe", "closed-file"])
@pytest.mark.parametrize("in_flush", [False, True], ids=["write", "flush"])
def test_failing_sink_does_not_stop_the_tail(error: type[Exception], in_flush: bool) -> None:
    sink = BrokenSink(error, fail_at=2, in_flush=in_flush)
    relay = OutputRelay(sink, tail_lines=10)  # type: ignore[arg-type]
    for index in range(5):
        relay.feed(f"line {index}\n".encode())
    relay.feed(b"partial")
    relay.close()
    assert relay.tail() == ("line 0", "line 1", "line 2", "line 3", "line 4", "partial")
    assert sink.attempts == 2  # the sink is dropped after it failed once
    assert bytes(sink.data) == (b"line 0\nline 1\n" if in_flush else b"line 0\n")


def test_no_sink_only_tail() -> None:
    relay = OutputRelay(None, tail_lines=2)
    relay.feed(b"a\nb\nc")
    relay.close()
    assert relay.tail() == ("b", "c")


def test_close_is_idempotent_and_empty_relay_has_empty_tail() -> None:
    sink = Sink()
    relay = OutputRelay(sink, tail_lines=3)  # type: ignore[arg-type]
    relay.close()
    relay.close()
    assert relay.tail() == ()
    assert sink.writes == []
    relay.feed(b"x")
    relay.close()
    relay.close()
    assert relay.tail() == ("x",)
    assert bytes(sink.data) == b"x"


def test_tail_memory_is_bounded_for_cr_only_progress() -> None:
    update = b"".join(b"\r step %07d/1000000 loss=0.1234 |#####     | " % i for i in range(1200))  # ~57 KB
    tracemalloc.start()
    try:
        relay = OutputRelay(None, tail_lines=50)
        for _ in range(40):  # ~2.3 MB of progress output, never a newline
            relay.feed(update)
        retained, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert retained < 512 * 1024
    relay.close()
    assert relay.tail()[-1].startswith(" step 0001199/1000000")
