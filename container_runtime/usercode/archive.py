"""Unpacking the user's code archive (`sourcedir.tar.gz`) without trusting it.

The SageMaker training toolkit extracted archives with a plain `extractall`
(CVE-2007-4559); its later releases skip hostile members with a warning. Here a hostile
archive fails the job instead: every member is checked before anything is written, so a
refused archive leaves the destination as it was.

The checks do not rely on `os.path.realpath`: links are resolved against a model of the
destination (what is on disk, overlaid by the links the archive creates, in archive
order), so a chain of links that only escapes once several members exist is caught too.
Extraction then uses tarfile's `data` filter where the running Python has it, as a second
line of defence.

`tarfile` and the compression modules are imported inside the functions: the `train`
start-up path imports this module and must stay fast.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from container_runtime.errors import (
    UnsafeArchiveError,
    UnsupportedArchiveError,
    UserCodeError,
)

if TYPE_CHECKING:
    import tarfile

__all__ = ["extract_tar_safely"]

#: Most symbolic links followed while resolving one path, as Linux's ELOOP limit.
_MAX_LINK_DEPTH = 40

_Parts = tuple[str, ...]


def extract_tar_safely(archive: Path, destination: Path) -> int:
    """Extract the tar `archive` into `destination`; return how many members it had.

    Any compression `tarfile` detects is accepted (gzip, bzip2, xz or none). Every member
    is validated first; absolute names, `..` components, links resolving outside
    `destination`, device files and FIFOs raise `UnsafeArchiveError` and nothing is
    written. A file that is not a readable tar archive raises `UnsupportedArchiveError`.
    `destination` is created when missing.
    """
    import tarfile

    archive = Path(archive)
    destination = Path(destination)
    if not archive.is_file():
        what = "not a regular file" if archive.exists() else "no such file"
        raise UserCodeError(f"{archive}: cannot unpack user code: {what}")

    read_errors = _archive_read_errors()
    # FilterError exists only where the `data` filter does.
    filter_errors: tuple[type[Exception], ...] = (tarfile.FilterError,) if hasattr(tarfile, "FilterError") else ()
    try:
        with tarfile.open(archive, mode="r:*") as tar:
            members = tar.getmembers()  # reads headers only, seeking past the data
            _validate(str(archive), members, destination)
            _make_destination(archive, destination)
            try:
                if hasattr(tarfile, "data_filter"):
                    tar.extractall(destination, members=members, filter="data")
                else:  # Python < 3.10.12 / 3.11.4
                    _extract_without_filter(tar, members, destination)
            except filter_errors as error:
                # Unreachable unless the checks above miss a case the filter knows.
                member = getattr(error, "tarinfo", None)
                name = member.name if member is not None else "?"
                raise UnsafeArchiveError(str(archive), name, str(error)) from error
            except OSError as error:
                if error.errno is None:  # a decompressor's "corrupt data", not the disk
                    raise
                raise UserCodeError(f"{archive}: cannot extract into {destination}: {error}") from error
    except UserCodeError:
        raise
    except read_errors as error:
        reason = _read_error_reason(archive, error)
        raise UnsupportedArchiveError(f"{archive}: {reason}") from error
    return len(members)


def _make_destination(archive: Path, destination: Path) -> None:
    try:
        destination.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise UserCodeError(f"{archive}: cannot create {destination}: {error}") from error


def _archive_read_errors() -> tuple[type[BaseException], ...]:
    """What reading a corrupt or foreign file raises from tarfile and the decompressors."""
    import tarfile
    import zlib

    errors: list[type[BaseException]] = [tarfile.TarError, EOFError, OSError, zlib.error]
    try:
        import lzma
    except ImportError:  # pragma: no cover - Python built without liblzma
        pass
    else:
        errors.append(lzma.LZMAError)
    return tuple(errors)


def _read_error_reason(archive: Path, error: BaseException) -> str:
    """A one-line reason why `archive` cannot be read as a tar archive."""
    try:
        with open(archive, "rb") as file:
            magic = file.read(4)
    except OSError:
        magic = b""
    if magic.startswith(b"PK\x03\x04") or magic.startswith(b"PK\x05\x06"):
        return "is a zip file; user code must be a tar archive (e.g. sourcedir.tar.gz)"
    text = str(error)
    if text.startswith("file could not be opened successfully"):
        if archive.stat().st_size == 0:
            return "is empty, not a tar archive"
        return "not a tar archive (tried gzip, bzip2, xz and uncompressed)"
    if isinstance(error, OSError) and error.errno is not None:
        return f"cannot read: {error.strerror or error}"
    if isinstance(error, EOFError):
        return f"truncated compressed data: {text}"
    detail = " ".join(text.split()) or type(error).__name__
    return f"corrupt or truncated tar archive: {detail}"


def _member_kind(member: tarfile.TarInfo) -> str | None:
    """Why a member's type is refused, or None for files, directories and links."""
    if member.ischr():
        return "character device"
    if member.isblk():
        return "block device"
    if member.isfifo():
        return "FIFO"
    if member.isreg() or member.isdir() or member.issym() or member.islnk():
        return None
    return f"unsupported member type {member.type!r}"


class _Tree:
    """The destination's links as they will be while members are extracted in order.

    Paths are tuples of components of absolute, physical paths. `links` holds the links
    the archive creates; anything else is looked up on disk.
    """

    def __init__(self, destination: Path) -> None:
        self.root: _Parts = _split(os.path.realpath(destination))
        self.links: dict[_Parts, str] = {}
        self.non_dirs: set[_Parts] = set()
        self.dirs: set[_Parts] = {self.root}
        # Only a destination that already has entries can hold links of its own.
        self.check_disk = _has_entries(destination)

    def _on_disk(self, path: _Parts) -> str:
        return os.path.join(os.sep, *path)

    def _link_target(self, path: _Parts) -> str | None:
        if path in self.links:
            return self.links[path]
        if not self.check_disk:
            return None
        on_disk = self._on_disk(path)
        if os.path.islink(on_disk):
            return os.readlink(on_disk)
        return None

    def resolve(self, start: _Parts, relative: str) -> _Parts | None:
        """Follow `relative` from directory `start`; None when it leaves the root."""
        return self._resolve(start, relative, [0])

    def _resolve(self, start: _Parts, relative: str, depth: list[int]) -> _Parts | None:
        if relative.startswith("/"):
            parts = _split(relative)
            if parts[: len(self.root)] != self.root:
                return None
            current = list(self.root)
            relative = "/".join(parts[len(self.root) :])
        else:
            current = list(start)
        for part in relative.split("/"):
            if part in ("", "."):
                continue
            if part == "..":
                if len(current) <= len(self.root):
                    return None
                current.pop()
                continue
            current.append(part)
            target = self._link_target(tuple(current))
            if target is not None:
                depth[0] += 1
                if depth[0] > _MAX_LINK_DEPTH:
                    return None
                resolved = self._resolve(tuple(current[:-1]), target, depth)
                if resolved is None:
                    return None
                current = list(resolved)
        return tuple(current)

    def exists(self, path: _Parts) -> bool:
        if path in self.non_dirs or path in self.dirs:
            return True
        return self.check_disk and os.path.lexists(self._on_disk(path))

    def is_dir(self, path: _Parts) -> bool:
        """Whether `path` (not followed if it is a link) is or will be a directory."""
        if path in self.dirs:
            return True
        if path in self.non_dirs or path in self.links or not self.check_disk:
            return False
        on_disk = self._on_disk(path)
        return os.path.isdir(on_disk) and not os.path.islink(on_disk)


def _has_entries(directory: Path) -> bool:
    try:
        with os.scandir(directory) as entries:
            return any(True for _ in entries)
    except (FileNotFoundError, NotADirectoryError):
        return False


def _short(text: str, limit: int = 80) -> str:
    """`repr(text)`, shortened in the middle when long (reasons stay readable)."""
    if len(text) <= limit:
        return repr(text)
    half = limit // 2
    return repr(f"{text[:half]}...{text[-half:]}")


def _split(path: str) -> _Parts:
    return tuple(part for part in path.split("/") if part not in ("", "."))


def _validate(archive: str, members: list[tarfile.TarInfo], destination: Path) -> None:
    """Raise `UnsafeArchiveError` for the first member that is not safe to extract."""
    tree = _Tree(destination)
    link_members: dict[_Parts, str] = {}
    for member in members:
        name = member.name
        kind = _member_kind(member)
        if kind is not None:
            raise UnsafeArchiveError(archive, name, kind)
        if name.startswith("/") or os.path.isabs(name):
            raise UnsafeArchiveError(archive, name, "absolute path")
        if ".." in name.split("/"):
            raise UnsafeArchiveError(archive, name, "path contains '..'")
        if "\0" in name:
            raise UnsafeArchiveError(archive, name, "path contains a NUL byte")
        parts = _split(name)
        if not parts:
            if member.isdir():  # "./", the destination itself
                continue
            raise UnsafeArchiveError(archive, name, "empty member name")

        parent = tree.resolve(tree.root, "/".join(parts[:-1]))
        if parent is None:
            raise UnsafeArchiveError(archive, name, "path goes through a link that leads outside the destination")
        location: _Parts = parent + parts[-1:]
        if tree.resolve(parent, "/".join(parts[-1:])) is None:
            raise UnsafeArchiveError(archive, name, "path is an existing link that leads outside the destination")

        if member.issym():
            target = member.linkname
            if target.startswith("/") or os.path.isabs(target):
                raise UnsafeArchiveError(archive, name, f"symbolic link to absolute path {_short(target)}")
            if tree.resolve(parent, target) is None:
                raise UnsafeArchiveError(
                    archive,
                    name,
                    f"symbolic link target {_short(target)} is outside the destination",
                )
            if tree.is_dir(location):
                raise UnsafeArchiveError(archive, name, "symbolic link would replace a directory")
            tree.links[location] = target
            link_members[location] = name
        elif member.islnk():
            target = member.linkname
            if target.startswith("/") or os.path.isabs(target):
                raise UnsafeArchiveError(archive, name, f"hard link to absolute path {_short(target)}")
            resolved = tree.resolve(tree.root, target)
            if resolved is None:
                raise UnsafeArchiveError(archive, name, f"hard link target {_short(target)} is outside the destination")
            if tree.is_dir(resolved):
                raise UnsafeArchiveError(archive, name, f"hard link to directory {_short(target)}")
            if not tree.exists(resolved):
                raise UnsafeArchiveError(
                    archive, name, f"hard link to {_short(target)}, which is not an earlier member"
                )
            tree.non_dirs.add(_final(tree, location))
        elif member.isdir():
            tree.dirs.add(_final(tree, location))
        else:
            tree.non_dirs.add(_final(tree, location))

    # A later link can change where an earlier one leads; check them all once more.
    for location, target in tree.links.items():
        if tree.resolve(location[:-1], target) is None:
            raise UnsafeArchiveError(
                archive,
                link_members[location],
                f"symbolic link target {_short(target)} is outside the destination once later members are extracted",
            )


def _final(tree: _Tree, location: _Parts) -> _Parts:
    """Where a member written at `location` lands (writing follows an existing link)."""
    resolved = tree.resolve(location[:-1], location[-1])
    assert resolved is not None  # checked by the caller
    return resolved


def _extract_without_filter(tar: tarfile.TarFile, members: list[tarfile.TarInfo], destination: Path) -> None:
    """Extract validated members the way the `data` filter would, for older Pythons.

    Owners are not restored, setuid/setgid/sticky and group/other write bits are
    dropped, and files stay readable and writable by their owner.
    """
    import copy

    uid, gid = os.geteuid(), os.getegid()
    for member in members:
        safe = copy.copy(member)
        safe.uid, safe.gid, safe.uname, safe.gname = uid, gid, "", ""
        mode = member.mode & 0o755
        if member.isreg() or member.islnk():
            if not mode & 0o100:
                mode &= ~0o111
            mode |= 0o600
        elif member.isdir():
            mode |= 0o700
        safe.mode = mode
        tar.extract(safe, destination, set_attrs=not member.issym())
