"""Pack a directory into a `.tar.gz` fast enough that packing never dominates a job.

Python's `tarfile.open(path, "w:gz")` compresses at zlib level 9, which on bf16-style
float32 weights runs at about 1 MB/s (minutes for one model). We stream a plain tar through
a level-1 gzip compressor instead: ISA-L's `isal.igzip` when installed (~200 MB/s), else
stdlib `gzip` at level 1. The output is ordinary gzip either way, so every reader of
`model.tar.gz` keeps working.

Only the standard library is imported at module import; `tarfile`, `gzip` and `isal` are
imported inside `pack_directory` so that importing the runtime stays cheap.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, TYPE_CHECKING, NamedTuple, cast

if TYPE_CHECKING:
    import gzip
    import tarfile

__all__ = ["PackResult", "SkippedEntry", "pack_directory"]

#: Compression level for both compressors: level 1 is ~5-40x faster than zlib's higher
#: levels on weights and loses only a few percent of ratio (see machine-recipes.md §5).
COMPRESS_LEVEL = 1

#: Size of each read from a source file and of each write into the compressor. Large
#: enough that per-call overhead vanishes, small enough to stay a streaming copy.
CHUNK_SIZE = 1 << 20


class SkippedEntry(NamedTuple):
    """A path under the source that is missing from the archive, or not packed intact."""

    path: Path
    reason: str


class PackResult(NamedTuple):
    """What `pack_directory` wrote, for logging and for the caller's checks.

    `files` counts regular files, `bytes_in` the content bytes stored (a hard link to a
    file already packed adds a file but no bytes) and `bytes_out` the archive's size.
    `skipped` lists entries that vanished or could not be read; a file that shrank or failed
    mid-read is kept at its stat size, zero-padded, and listed too.
    """

    destination: Path
    compressor: str
    files: int
    bytes_in: int
    bytes_out: int
    seconds: float
    skipped: tuple[SkippedEntry, ...]


def pack_directory(source: Path, destination: Path, *, prefer_isal: bool = True) -> PackResult:
    """Write the contents of `source` to `destination` as a gzip-compressed tar.

    Entries are named relative to `source` ("model.npz", "1/saved_model.pb"), directories
    included, in sorted order; symlinks are stored as links, never followed. Files are
    streamed, never read whole. The archive is written to a temporary file beside
    `destination` and renamed over it only once complete, so a crashed or killed packer
    never leaves a partial archive under the final name (no fsync: a machine crash ends
    the job anyway). A missing `source` gives an empty archive; entries that vanish or
    cannot be read while packing are skipped and reported in `PackResult.skipped`.
    FIFOs, sockets and devices are skipped too: they have no place in a model archive and
    opening a FIFO would block.

    Raises `NotADirectoryError` if `source` exists but is not a directory, and `OSError`
    if the archive itself cannot be written (the temporary file is removed first).
    """
    import tarfile

    started = time.perf_counter()
    source = Path(source)
    destination = Path(destination)
    if source.exists() and not source.is_dir():
        raise NotADirectoryError(f"{source}: not a directory, cannot pack it")
    destination.parent.mkdir(parents=True, exist_ok=True)

    tmp_path, tmp_fd = _create_temp_beside(destination)
    try:
        with os.fdopen(tmp_fd, "wb") as raw:
            tmp_stat = os.fstat(raw.fileno())
            exclude = {(tmp_stat.st_dev, tmp_stat.st_ino)}
            compressor, zfile = _open_compressor(raw, prefer_isal=prefer_isal)
            with zfile:
                # Stream mode never seeks. Both buffer sizes matter: tarfile's defaults
                # (10 KiB records, 16 KiB copies) make its stream buffer copy each byte
                # dozens of times. typeshed omits `copybufsize` from open(), which passes
                # it on to TarFile(); hence the cast.
                open_tar = cast("Callable[..., tarfile.TarFile]", tarfile.open)
                with open_tar(fileobj=zfile, mode="w|", bufsize=CHUNK_SIZE, copybufsize=CHUNK_SIZE) as tar:
                    files, bytes_in, skipped = _add_tree(tar, source, exclude=exclude, destination=destination)
        bytes_out = tmp_path.stat().st_size
        os.replace(tmp_path, destination)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise

    return PackResult(
        destination=destination,
        compressor=compressor,
        files=files,
        bytes_in=bytes_in,
        bytes_out=bytes_out,
        seconds=time.perf_counter() - started,
        skipped=tuple(skipped),
    )


def _create_temp_beside(destination: Path) -> tuple[Path, int]:
    """Create a hidden temp file next to `destination`, on the same file system so that
    `os.replace` is atomic; created like a plain `open()` so the umask applies."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
    while True:
        path = destination.with_name(f".{destination.name}.{os.urandom(4).hex()}.tmp")
        try:
            return path, os.open(path, flags, 0o666)
        except FileExistsError:
            continue


def _open_compressor(raw: IO[bytes], *, prefer_isal: bool) -> tuple[str, gzip.GzipFile]:
    """A gzip writer over `raw`: ISA-L if wanted and installed, else stdlib zlib.

    The gzip header gets no file name (the temp name would leak into it) and mtime 0, so
    the archive's bytes depend only on the tree packed, not on when or where.
    """
    if prefer_isal:
        try:
            from isal import igzip
        except ImportError:
            pass
        else:
            # IGzipFile subclasses GzipFile but its __init__ is unannotated.
            isal_file: Callable[..., gzip.GzipFile] = igzip.IGzipFile
            return "isal", isal_file(filename="", mode="wb", compresslevel=COMPRESS_LEVEL, fileobj=raw, mtime=0)
    import gzip

    return "zlib", gzip.GzipFile(filename="", mode="wb", compresslevel=COMPRESS_LEVEL, fileobj=raw, mtime=0)


def _add_tree(
    tar: tarfile.TarFile,
    source: Path,
    *,
    exclude: set[tuple[int, int]],
    destination: Path,
) -> tuple[int, int, list[SkippedEntry]]:
    """Add every entry under `source` to `tar`; return (files, bytes_in, skipped)."""
    files = 0
    bytes_in = 0
    skipped: list[SkippedEntry] = []
    dest_abs = Path(os.path.abspath(destination))

    for path, arcname in _walk_sorted(source, skipped):
        if Path(os.path.abspath(path)) == dest_abs:
            continue  # an old archive inside the tree is about to be replaced
        try:
            st = os.lstat(path)
        except OSError as exc:
            skipped.append(SkippedEntry(path, _reason(exc)))
            continue
        if (st.st_dev, st.st_ino) in exclude:
            continue  # our own temp file, when packing into the source tree
        if stat.S_ISREG(st.st_mode):
            added = _add_regular_file(tar, path, arcname, skipped)
            if added is not None:
                files += 1
                bytes_in += added
        elif stat.S_ISDIR(st.st_mode) or stat.S_ISLNK(st.st_mode):
            try:
                tar.addfile(_whole_seconds(tar.gettarinfo(str(path), arcname)))
            except OSError as exc:
                skipped.append(SkippedEntry(path, _reason(exc)))
        else:
            skipped.append(SkippedEntry(path, f"not a regular file ({_kind(st.st_mode)})"))
    return files, bytes_in, skipped


def _walk_sorted(source: Path, skipped: list[SkippedEntry]) -> Iterator[tuple[Path, str]]:
    """Yield (path, arcname) for everything under `source`, depth first like tar (each
    directory right before its contents), in sorted order, never following symlinks.
    Directories that cannot be listed go to `skipped`; a missing `source` yields nothing."""
    # A stack of iterators, not recursion, so that deep trees cannot hit the limit.
    stack: list[Iterator[tuple[Path, str, bool]]] = []
    listed = _list_dir(source, "", skipped, is_source=True)
    if listed is not None:
        stack.append(listed)
    while stack:
        item = next(stack[-1], None)
        if item is None:
            stack.pop()
            continue
        path, arcname, is_dir = item
        yield path, arcname
        if is_dir:
            children = _list_dir(path, arcname + "/", skipped, is_source=False)
            if children is not None:
                stack.append(children)


def _list_dir(
    directory: Path, prefix: str, skipped: list[SkippedEntry], *, is_source: bool
) -> Iterator[tuple[Path, str, bool]] | None:
    """The sorted entries of one directory as (path, arcname, is a real directory)."""
    try:
        with os.scandir(directory) as it:
            entries = sorted(it, key=lambda e: e.name)
    except FileNotFoundError:
        if not is_source:
            skipped.append(SkippedEntry(directory, "vanished while packing"))
        return None
    except OSError as exc:
        skipped.append(SkippedEntry(directory, _reason(exc)))
        return None
    return iter([(directory / e.name, prefix + e.name, _is_real_dir(e)) for e in entries])


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    """Whether `entry` is a directory itself, not a symlink to one."""
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _add_regular_file(tar: tarfile.TarFile, path: Path, arcname: str, skipped: list[SkippedEntry]) -> int | None:
    """Stream one file into `tar`; return its size, or None if it was skipped."""
    try:
        fileobj = _open_regular(path)
    except OSError as exc:
        skipped.append(SkippedEntry(path, _reason(exc)))
        return None
    with fileobj:
        try:
            info = tar.gettarinfo(arcname=arcname, fileobj=fileobj)
        except OSError as exc:
            skipped.append(SkippedEntry(path, _reason(exc)))
            return None
        if not info.isreg() and not info.islnk():
            skipped.append(SkippedEntry(path, "replaced by a non-regular file while packing"))
            return None
        reader = _ExactReader(fileobj)
        tar.addfile(_whole_seconds(info), reader)
        if reader.problem is not None:
            skipped.append(SkippedEntry(path, reader.problem))
        return info.size


def _open_regular(path: Path) -> IO[bytes]:
    """Open `path` for reading without blocking on a FIFO or following a symlink that
    replaced it since it was listed."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    fd = os.open(path, flags)
    try:
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)  # fdopen leaves the descriptor open when it fails (e.g. a directory)
        raise


class _ExactReader:
    """Serve exactly the bytes tarfile asks for, even if the file shrinks or a read fails.

    tarfile wrote the header with the size from fstat before copying; once it is written
    the entry must get exactly that many bytes or the whole archive is corrupt. We fill
    any shortfall with zeros and record why in `problem`.
    """

    def __init__(self, fileobj: IO[bytes]) -> None:
        self._fileobj = fileobj
        self.problem: str | None = None
        self._offset = 0

    def read(self, size: int = -1, /) -> bytes:
        """Return exactly `size` bytes: file content, then zeros after EOF or an error."""
        if size < 0:
            return self._fileobj.read()  # tarfile always asks for a size; never padded
        parts: list[bytes] = []
        wanted = size
        while wanted > 0 and self.problem is None:
            try:
                chunk = self._fileobj.read(wanted)
            except OSError as exc:
                self.problem = f"read failed at byte {self._offset}: {_reason(exc)}; zero-padded"
                break
            if not chunk:
                self.problem = f"shrank while packing to {self._offset} bytes; zero-padded"
                break
            parts.append(chunk)
            wanted -= len(chunk)
            self._offset += len(chunk)
        if wanted > 0:
            parts.append(bytes(wanted))
        return b"".join(parts) if len(parts) != 1 else parts[0]


def _whole_seconds(info: tarfile.TarInfo) -> tarfile.TarInfo:
    """Truncate mtime to whole seconds as tar does: a float mtime makes tarfile write an
    extra PAX header ("././@PaxHeader") before every entry."""
    info.mtime = int(info.mtime)
    return info


def _reason(exc: OSError) -> str:
    """A short human reason for an OSError, without repeating the path."""
    if isinstance(exc, FileNotFoundError):
        return "vanished while packing"
    return exc.strerror or str(exc)


def _kind(mode: int) -> str:
    """Name the kind of a special file for the skip reason."""
    if stat.S_ISFIFO(mode):
        return "fifo"
    if stat.S_ISSOCK(mode):
        return "socket"
    if stat.S_ISCHR(mode):
        return "character device"
    if stat.S_ISBLK(mode):
        return "block device"
    return "unknown type"
