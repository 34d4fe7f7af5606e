"""Records and requests: split a file by `Line` (or not at all), then pack records into bodies.

`SingleRecord` sends each record alone; `MultiRecord` packs as many whole records as fit in
`max_payload`, as SageMaker does. A record is numbered by its line (1-based), so an error can
name it in the file; blank lines are no records. A record alone larger than the payload limit is
an error that names it.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from io import BufferedReader
from pathlib import Path

from container_runtime.local.errors import LocalModeError
from container_runtime.local.transform.options import LINE, MIB, SINGLE_RECORD

#: Bytes read at a time from a file split with None (the whole file is one record).
_READ_SIZE = 1024 * 1024


@dataclass(frozen=True)
class Batch:
    """One request's body and the records it carries (`numbers[i]` is `records[i]`'s number)."""

    file_index: int
    numbers: tuple[int, ...]
    records: tuple[bytes, ...]
    split_type: str | None

    @property
    def body(self) -> bytes:
        return join_records(self.records, self.split_type)

    def describe(self) -> str:
        first, last = self.numbers[0], self.numbers[-1]
        return f"record {first}" if first == last else f"records {first}-{last}"


@dataclass(frozen=True)
class FileEnd:
    """Every batch of file `file_index` was handed out before this marker."""

    file_index: int


def join_records(records: tuple[bytes, ...], split_type: str | None) -> bytes:
    """Line records travel newline-terminated; an unsplit file travels as it is."""
    if split_type == LINE:
        return b"".join(record + b"\n" for record in records)
    return b"".join(records)


def split_records(path: Path, split_type: str | None, *, gzipped: bool = False) -> Iterator[tuple[int, bytes]]:
    """(record number, bytes without its line end) for each record of the file, in order;
    a gzipped file (compression_type "Gzip") is split after decompressing, as SageMaker does."""
    try:
        with _open(path, gzipped) as file:
            if split_type != LINE:
                content = b"".join(iter(lambda: file.read(_READ_SIZE), b""))
                if content:
                    yield 1, content
                return
            for number, line in enumerate(file, start=1):
                record = line.rstrip(b"\r\n")
                if record.strip():
                    yield number, record
    except (OSError, EOFError, zlib.error) as error:  # gzip.BadGzipFile is an OSError
        raise LocalModeError(f"cannot read {path}: {getattr(error, 'strerror', None) or error}") from None


def _open(path: Path, gzipped: bool) -> gzip.GzipFile | BufferedReader:
    return gzip.open(path, "rb") if gzipped else path.open("rb")


def batches(
    file_index: int, name: str, records: Iterator[tuple[int, bytes]], *, split_type: str | None, strategy: str,
    max_payload_bytes: int,
) -> Iterator[Batch]:
    """The requests for one file's records, in order, each at most `max_payload_bytes` long."""
    overhead = 1 if split_type == LINE else 0
    numbers: list[int] = []
    pending: list[bytes] = []
    size = 0
    for number, record in records:
        length = len(record) + overhead
        if length > max_payload_bytes:
            raise LocalModeError(
                f"{name} record {number}: {length} bytes is over max_payload ({max_payload_bytes / MIB:g} MB); "
                "raise max_payload or split the file"
            )
        if pending and (strategy == SINGLE_RECORD or size + length > max_payload_bytes):
            yield Batch(file_index, tuple(numbers), tuple(pending), split_type)
            numbers, pending, size = [], [], 0
        numbers.append(number)
        pending.append(record)
        size += length
    if pending:
        yield Batch(file_index, tuple(numbers), tuple(pending), split_type)
