"""`extract_tar_safely`: hostile archives are refused before anything is written."""

from __future__ import annotations

import io
import os
import stat
import subprocess
import sys
import tarfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from container_runtime.errors import (
    UnsafeArchiveError,
    UnsupportedArchiveError,
    UserCodeError,
)
from container_runtime.usercode.archive import extract_tar_safely


@dataclass(frozen=True)
class Entry:
    name: str
    kind: bytes = tarfile.REGTYPE
    data: bytes = b""
    linkname: str = ""
    mode: int = 0o644


def file(name: str, data: bytes = b"data", mode: int = 0o644) -> Entry:
    return Entry(name, tarfile.REGTYPE, data, mode=mode)


def directory(name: str) -> Entry:
    return Entry(name, tarfile.DIRTYPE, mode=0o755)


def symlink(name: str, target: str) -> Entry:
    return Entry(name, tarfile.SYMTYPE, linkname=target, mode=0o777)


def hardlink(name: str, target: str, mode: int = 0o644) -> Entry:
    return Entry(name, tarfile.LNKTYPE, linkname=target, mode=mode)


def make_tar(path: Path, entries: list[Entry], mode: str = "w:gz") -> Path:
    # `mode` comes from parameters as a plain str; typeshed wants a Literal.
    with tarfile.open(path, mode) as tar:  # type: ignore[call-overload,unused-ignore]
        for entry in entries:
            info = tarfile.TarInfo(entry.name)
            info.type = entry.kind
            info.mode = entry.mode
            info.linkname = entry.linkname
            info.mtime = 1_700_000_000
            if entry.kind == tarfile.REGTYPE:
                info.size = len(entry.data)
                tar.addfile(info, io.BytesIO(entry.data))
            else:
                tar.addfile(info)
    return path


def listing(directory_path: Path) -> list[str]:
    if not directory_path.exists():
        return []
    return sorted(
        str(path.relative_to(directory_path)) for path in directory_path.rglob("*")
    )


def _path_max_bypass() -> list[Entry]:
    """CVE-2025-4517: links through directories whose physical path exceeds PATH_MAX.

    `os.path.realpath` gives up on such paths and answers lexically, so the `data` filter
    of unpatched Pythons (3.11.7 among them) lets "escape/planted.txt" land one level
    above the destination.
    """
    long_dir, steps, path, entries = "d" * 247, "abcdefghijklmnop", "", []
    for step in steps:
        entries.append(directory(f"{path}{long_dir}"))
        entries.append(symlink(f"{path}{step}", long_dir))
        path = f"{path}{long_dir}/"
    deep_link = "/".join(steps) + "/" + "l" * 254
    entries.append(symlink(deep_link, "../" * len(steps)))
    entries.append(symlink("escape", f"{deep_link}/.."))
    entries.append(file("escape/planted.txt", b"pwned"))
    return entries


HOSTILE: dict[str, tuple[list[Entry], str]] = {
    # id: (entries, the member that must be named)
    "absolute path": ([file("ok.txt"), file("/tmp/evil.txt")], "/tmp/evil.txt"),
    "dotdot escape": ([file("ok.txt"), file("../escape.txt")], "../escape.txt"),
    "nested dotdot": ([directory("a"), file("a/../../x")], "a/../../x"),
    "dotdot staying inside": ([directory("a"), file("a/../x")], "a/../x"),
    "symlink to /etc/passwd": ([symlink("passwd", "/etc/passwd")], "passwd"),
    "symlink to ../../x": ([file("ok.txt"), symlink("up", "../../x")], "up"),
    "symlink in subdir escaping": (
        [directory("d"), symlink("d/up", "../../etc")],
        "d/up",
    ),
    "symlink chain escaping": (
        # "a" -> "." makes "a/b" -> ".." point one level above the destination,
        # although "a/b/.." stays inside lexically.
        [symlink("a", "."), symlink("a/b", "..")],
        "a/b",
    ),
    "file through a link retargeted to escape": (
        [
            directory("x/y"),
            symlink("m", "x/y"),
            symlink("n", "m/../.."),
            symlink("m", "."),
            file("n/planted.txt"),
        ],
        "n/planted.txt",
    ),
    "link retargeted later": (
        # "n" is fine while "m" -> "x/y"; once "m" -> ".", "n" leaves the destination.
        [
            directory("x/y"),
            symlink("m", "x/y"),
            symlink("n", "m/../.."),
            symlink("m", "."),
        ],
        "n",
    ),
    "hardlink to /etc/passwd": ([hardlink("h", "/etc/passwd")], "h"),
    "hardlink outside": ([file("ok.txt"), hardlink("h", "../outside.txt")], "h"),
    "hardlink through symlink outside": (
        [symlink("s", "."), hardlink("h", "s/../outside.txt")],
        "h",
    ),
    "hardlink to missing member": ([hardlink("h", "nowhere.txt")], "h"),
    "character device": ([file("ok.txt"), Entry("dev/null", tarfile.CHRTYPE)], "dev/null"),
    "block device": ([Entry("sda", tarfile.BLKTYPE)], "sda"),
    "fifo": ([file("ok.txt"), Entry("pipe", tarfile.FIFOTYPE)], "pipe"),
    "symlink replacing a directory": ([directory("d"), symlink("d", ".")], "d"),
    "PATH_MAX realpath bypass": (_path_max_bypass(), "escape"),
}


@pytest.mark.parametrize(
    ("entries", "member"), list(HOSTILE.values()), ids=list(HOSTILE.keys())
)
def test_hostile_archive_is_refused_and_nothing_is_written(
    tmp_path: Path, entries: list[Entry], member: str
) -> None:
    archive = make_tar(tmp_path / "sourcedir.tar.gz", entries)
    destination = tmp_path / "code"
    destination.mkdir()

    with pytest.raises(UnsafeArchiveError) as caught:
        extract_tar_safely(archive, destination)

    error = caught.value
    assert error.member == member
    assert error.archive == str(archive)
    assert repr(member) in str(error)
    assert str(archive) in str(error)
    assert error.reason and "\n" not in str(error)
    assert listing(destination) == []
    assert not (tmp_path / "escape.txt").exists()
    assert not (tmp_path / "outside.txt").exists()
    assert not (tmp_path / "planted.txt").exists()


def test_refused_archive_does_not_create_a_missing_destination(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "a.tar.gz", [file("ok.txt"), file("../x")])
    destination = tmp_path / "not" / "yet"
    with pytest.raises(UnsafeArchiveError):
        extract_tar_safely(archive, destination)
    assert not (tmp_path / "not").exists()


def test_existing_link_in_destination_leading_outside_is_refused(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    destination = tmp_path / "code"
    destination.mkdir()
    (destination / "out").symlink_to(outside)
    archive = make_tar(tmp_path / "a.tar", [file("out/planted.txt")], "w")

    with pytest.raises(UnsafeArchiveError) as caught:
        extract_tar_safely(archive, destination)

    assert caught.value.member == "out/planted.txt"
    assert listing(outside) == []
    assert listing(destination) == ["out"]


def test_existing_link_in_destination_leading_inside_is_followed(tmp_path: Path) -> None:
    destination = tmp_path / "code"
    (destination / "real").mkdir(parents=True)
    (destination / "alias").symlink_to("real")
    archive = make_tar(tmp_path / "a.tar", [file("alias/f.txt", b"x")], "w")

    assert extract_tar_safely(archive, destination) == 1
    assert (destination / "real" / "f.txt").read_bytes() == b"x"


GOOD_ENTRIES = [
    directory("./"),
    directory("pkg"),
    file("pkg/__init__.py", b""),
    file("train.py", b"print('hi')\n", mode=0o755),
    directory("pkg/data"),
    file("pkg/data/x.txt", b"payload"),
    symlink("latest", "pkg/data/x.txt"),
    symlink("pkg/up", "../train.py"),
    symlink("pkg/data/same_dir", "."),
    hardlink("train_copy.py", "train.py", mode=0o755),
    file("setuid.sh", b"#!/bin/sh\n", mode=0o4777),
]


def check_good_extraction(destination: Path) -> None:
    assert (destination / "train.py").read_bytes() == b"print('hi')\n"
    assert (destination / "pkg" / "data" / "x.txt").read_bytes() == b"payload"
    assert (destination / "latest").is_symlink()
    assert os.readlink(destination / "latest") == "pkg/data/x.txt"
    assert (destination / "latest").read_bytes() == b"payload"
    assert os.readlink(destination / "pkg" / "up") == "../train.py"
    assert (destination / "pkg" / "up").read_bytes() == b"print('hi')\n"
    assert (destination / "pkg" / "data" / "same_dir" / "x.txt").read_bytes() == b"payload"
    assert (destination / "train_copy.py").read_bytes() == b"print('hi')\n"
    assert os.stat(destination / "train.py").st_mode & stat.S_IXUSR
    setuid_mode = os.stat(destination / "setuid.sh").st_mode
    assert not setuid_mode & (stat.S_ISUID | stat.S_ISGID | stat.S_IWOTH | stat.S_IWGRP)
    assert setuid_mode & stat.S_IXUSR


@pytest.mark.parametrize(
    ("mode", "suffix"),
    [("w:gz", ".tar.gz"), ("w:bz2", ".tar.bz2"), ("w:xz", ".tar.xz"), ("w", ".tar")],
    ids=["gzip", "bzip2", "xz", "plain"],
)
def test_good_archive_round_trips(tmp_path: Path, mode: str, suffix: str) -> None:
    # The name does not matter: compression is detected from the content.
    archive = make_tar(tmp_path / f"sourcedir{suffix}", GOOD_ENTRIES, mode)
    destination = tmp_path / "new" / "code"

    assert extract_tar_safely(archive, destination) == len(GOOD_ENTRIES)

    check_good_extraction(destination)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # 3.12+: extract() without filter
def test_good_archive_without_the_data_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Pythons before 3.10.12 / 3.11.4 have no `data` filter: the manual path runs."""
    monkeypatch.delattr(tarfile, "data_filter")
    monkeypatch.delattr(tarfile, "FilterError")
    archive = make_tar(tmp_path / "sourcedir.tar.gz", GOOD_ENTRIES)
    destination = tmp_path / "code"

    assert extract_tar_safely(archive, destination) == len(GOOD_ENTRIES)

    check_good_extraction(destination)


def test_hostile_archive_without_the_data_filter(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(tarfile, "data_filter")
    archive = make_tar(tmp_path / "a.tar.gz", [file("ok"), symlink("l", "/etc/passwd")])
    with pytest.raises(UnsafeArchiveError):
        extract_tar_safely(archive, tmp_path / "code")
    assert listing(tmp_path / "code") == []


def test_data_filter_is_a_second_line_of_defence(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Were the checks to miss a case, the `data` filter's refusal is still reported."""
    import container_runtime.usercode.archive as archive_module

    if not hasattr(tarfile, "data_filter"):
        pytest.skip("this Python has no tarfile data filter")
    monkeypatch.setattr(archive_module, "_validate", lambda *args: None)
    archive = make_tar(tmp_path / "a.tar.gz", [symlink("l", "/etc/passwd")])

    with pytest.raises(UnsafeArchiveError) as caught:
        extract_tar_safely(archive, tmp_path / "code")

    assert caught.value.member == "l"


def test_empty_tar_extracts_nothing(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "empty.tar.gz", [])
    assert extract_tar_safely(archive, tmp_path / "code") == 0
    assert (tmp_path / "code").is_dir()


def test_existing_files_are_overwritten(tmp_path: Path) -> None:
    destination = tmp_path / "code"
    destination.mkdir()
    (destination / "train.py").write_text("old")
    archive = make_tar(tmp_path / "a.tar.gz", [file("train.py", b"new")])
    assert extract_tar_safely(archive, destination) == 1
    assert (destination / "train.py").read_bytes() == b"new"


def _zip(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("train.py", "print('hi')\n")
    return path


def _random(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _truncated_gzip(path: Path) -> Path:
    make_tar(path, [file("big.bin", os.urandom(200_000))])
    path.write_bytes(path.read_bytes()[:50_000])
    return path


def _truncated_plain(path: Path) -> Path:
    make_tar(path, [file("big.bin", os.urandom(200_000))], "w")
    path.write_bytes(path.read_bytes()[:50_000])
    return path


def _gzip_of_garbage(path: Path) -> Path:
    import gzip

    path.write_bytes(gzip.compress(os.urandom(4096)))
    return path


@pytest.mark.parametrize(
    ("build", "expected"),
    [
        (_zip, "zip"),
        (_random, "not a tar archive"),
        (_empty, "empty"),
        (_truncated_gzip, "truncated"),
        (_truncated_plain, "truncated"),
        (_gzip_of_garbage, "not a tar archive"),
    ],
    ids=["zip", "random bytes", "empty", "truncated gzip", "truncated plain", "gzip garbage"],
)
def test_unreadable_archive_is_unsupported(
    tmp_path: Path, build: Callable[[Path], Path], expected: str
) -> None:
    archive = build(tmp_path / "sourcedir.tar.gz")
    destination = tmp_path / "code"

    with pytest.raises(UnsupportedArchiveError) as caught:
        extract_tar_safely(archive, destination)

    message = str(caught.value)
    assert message.startswith(f"{archive}: ")
    assert expected in message
    assert "\n" not in message
    assert not destination.exists()


def test_missing_archive_is_a_user_code_error(tmp_path: Path) -> None:
    with pytest.raises(UserCodeError, match="no such file") as caught:
        extract_tar_safely(tmp_path / "nope.tar.gz", tmp_path / "code")
    assert not isinstance(caught.value, UnsupportedArchiveError)


def test_module_import_does_not_import_tarfile_or_boto3() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import container_runtime.usercode.archive, container_runtime.usercode.s3\n"
        "heavy = {'tarfile', 'boto3', 'botocore', 'zlib', 'lzma', 'bz2', 'gzip'}\n"
        "print(sorted(heavy & (set(sys.modules) - before)))\n"
    )
    root = Path(__file__).resolve().parents[3]
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert result.stdout.strip() == "[]"
