"""Tests for `container_runtime.artifacts.packer.pack_directory`."""

from __future__ import annotations

import errno
import gzip
import io
import os
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

import pytest

from container_runtime.artifacts import PackResult, pack_directory, packer

REPO_ROOT = Path(__file__).resolve().parents[3]

try:
    import isal.igzip  # noqa: F401

    HAVE_ISAL = True
except ImportError:
    HAVE_ISAL = False

BINARY = bytes(range(256)) * 64 + os.urandom(300_000)
PB = b"\x08\x01\x12\x00saved model" * 1000

#: Entry names `make_tree` produces, in the order the packer writes them.
TREE_NAMES = [
    "1",
    "1/saved_model.pb",
    "1/variables",
    "1/variables/variables.data-00000-of-00001",
    "1/variables/variables.index",
    "dangling",
    "empty.txt",
    "emptydir",
    "linkdir",
    "model.npz",
    "model_hardlink.npz",
    "model_link",
]


def make_tree(root: Path) -> dict[str, bytes]:
    """A model dir with nested dirs, empty file and dir, binary data, links; return the
    content of every regular file by entry name."""
    contents = {
        "model.npz": BINARY,
        "empty.txt": b"",
        "1/saved_model.pb": PB,
        "1/variables/variables.data-00000-of-00001": BINARY[::-1],
        "1/variables/variables.index": b"\x00\xff" * 10,
    }
    for name, data in contents.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / "emptydir").mkdir()
    (root / "model_link").symlink_to("model.npz")
    (root / "linkdir").symlink_to("1", target_is_directory=True)
    (root / "dangling").symlink_to("does-not-exist")
    os.link(root / "model.npz", root / "model_hardlink.npz")
    return contents


def compressors() -> list[object]:
    """prefer_isal values with the compressor each must pick on this machine."""
    return [
        pytest.param(True, "isal" if HAVE_ISAL else "zlib", id="isal"),
        pytest.param(False, "zlib", id="zlib"),
    ]


@pytest.mark.parametrize(("prefer_isal", "expected"), compressors())
def test_round_trip(tmp_path: Path, prefer_isal: bool, expected: str) -> None:
    src = tmp_path / "model"
    contents = make_tree(src)
    dest = tmp_path / "out" / "model.tar.gz"

    result = pack_directory(src, dest, prefer_isal=prefer_isal)

    assert result.compressor == expected
    assert result.destination == dest
    assert result.skipped == ()
    assert result.files == len(contents) + 1  # the hard link is a file too...
    assert result.bytes_in == sum(map(len, contents.values()))  # ...whose bytes are not
    assert result.bytes_out == dest.stat().st_size
    assert result.seconds >= 0
    with tarfile.open(dest, "r:gz") as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert tar.getnames() == TREE_NAMES
        for name, data in contents.items():
            assert members[name].isreg()
            extracted = tar.extractfile(name)
            assert extracted is not None
            assert extracted.read() == data
        assert members["1"].isdir() and members["emptydir"].isdir()
        assert members["model_link"].issym()
        assert members["model_link"].linkname == "model.npz"
        assert members["linkdir"].issym() and members["linkdir"].linkname == "1"
        assert members["dangling"].issym()
        assert members["model_hardlink.npz"].islnk()
        assert members["model_hardlink.npz"].linkname == "model.npz"
        link = tar.extractfile("model_hardlink.npz")
        assert link is not None and link.read() == BINARY


@pytest.mark.parametrize(("prefer_isal", "expected"), compressors())
def test_output_is_plain_gzip_with_clean_names(
    tmp_path: Path, prefer_isal: bool, expected: str
) -> None:
    src = tmp_path / "model"
    make_tree(src)
    dest = tmp_path / "model.tar.gz"

    pack_directory(src, dest, prefer_isal=prefer_isal)

    raw = dest.read_bytes()
    assert raw[:3] == b"\x1f\x8b\x08"  # gzip magic, deflate
    assert raw[3] & 0x08 == 0  # no FNAME: the temp file's name does not leak
    tar_bytes = gzip.decompress(raw)
    assert len(tar_bytes) % tarfile.RECORDSIZE == 0
    with tarfile.open(fileobj=io.BytesIO(tar_bytes), mode="r:") as tar:
        names = tar.getnames()
    assert names == TREE_NAMES
    assert not any(n.startswith(("./", "/")) or n in (".", "") for n in names)
    assert b"PaxHeader" not in tar_bytes  # whole-second mtimes need no PAX records
    assert sorted(os.listdir(tmp_path)) == ["model", "model.tar.gz"]  # no temp left


@pytest.mark.parametrize(("prefer_isal", "expected"), compressors())
def test_output_is_deterministic(tmp_path: Path, prefer_isal: bool, expected: str) -> None:
    src = tmp_path / "model"
    make_tree(src)

    first = pack_directory(src, tmp_path / "a.tar.gz", prefer_isal=prefer_isal)
    second = pack_directory(src, tmp_path / "b.tar.gz", prefer_isal=prefer_isal)

    assert first.destination.read_bytes() == second.destination.read_bytes()


@pytest.mark.parametrize("make_source", ["empty", "missing"])
@pytest.mark.parametrize(("prefer_isal", "expected"), compressors())
def test_empty_or_missing_source_gives_empty_archive(
    tmp_path: Path, make_source: str, prefer_isal: bool, expected: str
) -> None:
    src = tmp_path / "model"
    if make_source == "empty":
        src.mkdir()
    dest = tmp_path / "model.tar.gz"

    result = pack_directory(src, dest, prefer_isal=prefer_isal)

    assert (result.files, result.bytes_in, result.skipped) == (0, 0, ())
    assert result.compressor == expected
    with tarfile.open(dest, "r:gz") as tar:
        assert tar.getnames() == []


def test_source_that_is_a_file_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "model.npz"
    src.write_bytes(b"x")

    with pytest.raises(NotADirectoryError):
        pack_directory(src, tmp_path / "model.tar.gz")

    assert sorted(os.listdir(tmp_path)) == ["model.npz"]


def test_replaces_existing_archive_and_creates_parent(tmp_path: Path) -> None:
    src = tmp_path / "model"
    src.mkdir()
    (src / "w.bin").write_bytes(b"new")
    dest = tmp_path / "deep" / "er" / "model.tar.gz"
    dest.parent.mkdir(parents=True)
    dest.write_bytes(b"old archive")

    pack_directory(src, dest)

    with tarfile.open(dest, "r:gz") as tar:
        assert tar.getnames() == ["w.bin"]
    assert os.listdir(dest.parent) == ["model.tar.gz"]


def test_packing_into_the_source_tree_excludes_the_archive(tmp_path: Path) -> None:
    src = tmp_path / "model"
    src.mkdir()
    (src / "w.bin").write_bytes(b"weights")
    dest = src / "model.tar.gz"
    dest.write_bytes(b"previous archive")  # replaced, so not packed either

    result = pack_directory(src, dest)

    with tarfile.open(dest, "r:gz") as tar:
        assert tar.getnames() == ["w.bin"]
    assert result.skipped == ()
    assert sorted(os.listdir(src)) == ["model.tar.gz", "w.bin"]


def test_fifo_is_skipped_without_blocking(tmp_path: Path) -> None:
    src = tmp_path / "model"
    src.mkdir()
    (src / "a.bin").write_bytes(b"a")
    os.mkfifo(src / "pipe")  # opening it for reading would block forever

    result = pack_directory(src, tmp_path / "model.tar.gz")

    assert [(s.path, s.reason) for s in result.skipped] == [
        (src / "pipe", "not a regular file (fifo)")
    ]
    with tarfile.open(result.destination, "r:gz") as tar:
        assert tar.getnames() == ["a.bin"]


def patch_open_regular(
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    before: Callable[[Path], None] | None = None,
    after: Callable[[Path, IO[bytes]], IO[bytes]] | None = None,
) -> None:
    """Hook the packer's file open for the file named `target`: run `before(path)` just
    before it is opened and `after(path, fileobj)` just after (a race, made certain)."""
    real = packer._open_regular

    def hooked(path: Path) -> IO[bytes]:
        if path.name == target and before is not None:
            before(path)
        fileobj = real(path)
        if path.name == target and after is not None:
            return after(path, fileobj)
        return fileobj

    monkeypatch.setattr(packer, "_open_regular", hooked)


def test_file_vanishing_before_open_is_skipped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "model"
    src.mkdir()
    for name in ("a.bin", "b.bin", "c.bin"):
        (src / name).write_bytes(name.encode() * 1000)
    patch_open_regular(monkeypatch, "b.bin", before=lambda p: p.unlink())

    result = pack_directory(src, tmp_path / "model.tar.gz")

    assert [(s.path, s.reason) for s in result.skipped] == [
        (src / "b.bin", "vanished while packing")
    ]
    assert result.files == 2
    with tarfile.open(result.destination, "r:gz") as tar:
        assert tar.getnames() == ["a.bin", "c.bin"]
        c = tar.extractfile("c.bin")
        assert c is not None and c.read() == b"c.bin" * 1000


def test_file_shrinking_while_read_is_zero_padded_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "model"
    src.mkdir()
    (src / "a.bin").write_bytes(b"A" * 5000)
    (src / "z.bin").write_bytes(b"zz")

    # The entry's size comes from fstat on the open file: shrink it right after that.
    real_gettarinfo = tarfile.TarFile.gettarinfo

    def gettarinfo_then_shrink(
        self: tarfile.TarFile,
        name: str | None = None,
        arcname: str | None = None,
        fileobj: IO[bytes] | None = None,
    ) -> tarfile.TarInfo:
        info = real_gettarinfo(self, name, arcname, fileobj)
        if arcname == "a.bin":
            os.truncate(src / "a.bin", 1000)
        return info

    monkeypatch.setattr(tarfile.TarFile, "gettarinfo", gettarinfo_then_shrink)

    result = pack_directory(src, tmp_path / "model.tar.gz")

    assert [s.path for s in result.skipped] == [src / "a.bin"]
    assert "shrank while packing to 1000 bytes" in result.skipped[0].reason
    with tarfile.open(result.destination, "r:gz") as tar:
        a = tar.extractfile("a.bin")
        z = tar.extractfile("z.bin")
        assert a is not None and a.read() == b"A" * 1000 + bytes(4000)
        assert z is not None and z.read() == b"zz"  # later entries are intact


class FailingReader(io.RawIOBase):
    """Reads `good` bytes, then fails with EIO, like a disk error mid-file."""

    def __init__(self, inner: IO[bytes], good: int) -> None:
        self._inner = inner
        self._left = good
        self.name = inner.name

    def readable(self) -> bool:
        return True

    def fileno(self) -> int:
        return self._inner.fileno()

    def read(self, size: int = -1, /) -> bytes:
        if self._left <= 0:
            raise OSError(errno.EIO, "Input/output error")
        data = self._inner.read(min(size, self._left))
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._inner.close()
        super().close()


def test_read_error_mid_file_is_zero_padded_and_reported(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "model"
    src.mkdir()
    (src / "bad.bin").write_bytes(b"B" * 3000)
    (src / "good.bin").write_bytes(b"G" * 3000)

    def fail_after_100_bytes(path: Path, fileobj: IO[bytes]) -> IO[bytes]:
        return FailingReader(fileobj, 100)  # type: ignore[return-value]

    patch_open_regular(monkeypatch, "bad.bin", after=fail_after_100_bytes)

    result = pack_directory(src, tmp_path / "model.tar.gz")

    assert [s.path for s in result.skipped] == [src / "bad.bin"]
    assert "read failed at byte 100" in result.skipped[0].reason
    with tarfile.open(result.destination, "r:gz") as tar:
        bad = tar.extractfile("bad.bin")
        good = tar.extractfile("good.bin")
        assert bad is not None and bad.read() == b"B" * 100 + bytes(2900)
        assert good is not None and good.read() == b"G" * 3000


def test_failure_leaves_no_temp_file_and_keeps_old_archive(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    src = tmp_path / "model"
    src.mkdir()
    (src / "a.bin").write_bytes(b"a" * 100)
    dest = tmp_path / "out" / "model.tar.gz"
    dest.parent.mkdir()
    dest.write_bytes(b"previous archive")

    def explode(path: Path) -> None:
        raise RuntimeError("killed mid-pack")

    patch_open_regular(monkeypatch, "a.bin", before=explode)

    with pytest.raises(RuntimeError, match="killed mid-pack"):
        pack_directory(src, dest)

    assert os.listdir(dest.parent) == ["model.tar.gz"]
    assert dest.read_bytes() == b"previous archive"


def test_result_is_frozen(tmp_path: Path) -> None:
    result = pack_directory(tmp_path / "none", tmp_path / "x.tar.gz")
    assert isinstance(result, PackResult)
    with pytest.raises(AttributeError):
        result.files = 3  # type: ignore[misc]


def test_import_is_light() -> None:
    """Importing the package must not pull in tarfile, gzip or isal (train start-up)."""
    code = (
        "import sys; before = set(sys.modules); import container_runtime.artifacts; "
        "heavy = {'tarfile', 'gzip', 'isal', 'isal.igzip', 'numpy'}; "
        "print(sorted((set(sys.modules) - before) & heavy))"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[]"
