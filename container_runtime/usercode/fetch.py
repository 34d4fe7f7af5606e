"""Putting the user's code into the code dir from `sagemaker_submit_directory`.

Sources: the code dir itself (nothing to do), a local directory, a local tar archive, a single
script, a `file://` URI or an `s3://` object. A code dir that already holds files (code baked
into the image) is used as it is, and the log says so; `SM_FORCE_CODE_EXTRACT=true` replaces it.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from container_runtime.errors import ConfigError, UnsupportedArchiveError
from container_runtime.log import get_logger

logger = get_logger(__name__)

SOURCE_KEY = "hyperparameters.json key 'sagemaker_submit_directory'"
_ARCHIVE_SUFFIXES = (".zip", ".gz", ".tgz", ".bz2", ".xz", ".tar", ".7z", ".rar", ".whl", ".zst")
_ZIP_MAGIC = b"PK\x03\x04"


class CodeSource(NamedTuple):
    """Where the code comes from: `kind` is code_dir, directory, file, or s3."""

    kind: str
    location: str


def classify_source(submit_directory: str | None, code_dir: Path) -> CodeSource:
    """Validate `sagemaker_submit_directory`; raises ConfigError naming the value."""
    if not submit_directory:
        return CodeSource("code_dir", str(code_dir))
    scheme, separator, rest = submit_directory.partition("://")
    if not separator:
        local = submit_directory
    elif scheme == "s3":
        return CodeSource("s3", submit_directory)
    elif scheme == "file":
        from urllib.parse import unquote, urlsplit

        local = unquote(urlsplit(submit_directory).path)
    else:
        raise ConfigError(
            SOURCE_KEY,
            f"unsupported URI scheme {scheme!r} in {submit_directory!r} (use a path, file:// or s3://)",
        )
    path = Path(local)
    if not path.is_absolute():
        raise ConfigError(SOURCE_KEY, f"{submit_directory!r} is not an absolute path")
    if not path.exists():
        raise ConfigError(SOURCE_KEY, f"{submit_directory!r} does not exist")
    if path.is_dir():
        same = path.resolve() == code_dir.resolve() if code_dir.exists() else False
        return CodeSource("code_dir" if same else "directory", str(path))
    return CodeSource("file", str(path))


def prepare_code_dir(
    source: CodeSource,
    code_dir: Path,
    *,
    force: bool,
    s3_endpoint_url: str | None,
    region: str | None,
) -> None:
    """Fill `code_dir` from `source` unless it already holds code (and `force` is off).

    Modules needed only for fetching are imported where used, so that jobs whose code is
    already in place do not pay for them at start-up.
    """
    code_dir.mkdir(parents=True, exist_ok=True)
    if source.kind == "code_dir":
        return
    if any(code_dir.iterdir()):
        if not force:
            logger.warning(
                "%s is not empty: using the code already there, NOT unpacking %s "
                "(set SM_FORCE_CODE_EXTRACT=true to replace it)",
                code_dir,
                source.location,
            )
            return
        logger.info("SM_FORCE_CODE_EXTRACT=true: replacing the contents of %s with %s", code_dir, source.location)
        _empty_directory(code_dir)
    if source.kind == "s3":
        _fetch_from_s3(source.location, code_dir, s3_endpoint_url, region)
    elif source.kind == "directory":
        import shutil

        shutil.copytree(source.location, code_dir, symlinks=True, dirs_exist_ok=True,
                        ignore=_holding(code_dir.resolve()))
    else:
        _unpack_file(Path(source.location), code_dir)
    logger.info("Unpacked user code from %s into %s", source.location, code_dir)


def _holding(code_dir: Path) -> Callable[[str, list[str]], list[str]]:
    """A copytree filter leaving out the entry that holds `code_dir` (a job dir inside the source dir,
    as when local mode keeps its jobs beside the script): copying it would copy the copy forever."""

    def ignore(directory: str, names: list[str]) -> list[str]:
        left_out = []
        for name in names:
            path = (Path(directory) / name).resolve()
            if path == code_dir or code_dir.is_relative_to(path):
                logger.warning("Not copying %s into the code dir: it holds the code dir itself", path)
                left_out.append(name)
        return left_out

    return ignore


def _fetch_from_s3(uri: str, code_dir: Path, endpoint_url: str | None, region: str | None) -> None:
    import tempfile

    from container_runtime.usercode.archive import extract_tar_safely
    from container_runtime.usercode.s3 import download_s3_object

    with tempfile.TemporaryDirectory(prefix="code-download-") as scratch:
        archive = download_s3_object(
            uri, Path(scratch) / "sourcedir.tar.gz", endpoint_url=endpoint_url, region=region or None
        )
        extract_tar_safely(archive, code_dir)


def _unpack_file(path: Path, code_dir: Path) -> None:
    """A tar archive is extracted; a single script is copied; other archives are refused."""
    import shutil
    import tarfile

    from container_runtime.usercode.archive import extract_tar_safely

    if tarfile.is_tarfile(path):
        extract_tar_safely(path, code_dir)
        return
    with path.open("rb") as file:
        magic = file.read(4)
    if magic == _ZIP_MAGIC or path.name.lower().endswith(_ARCHIVE_SUFFIXES):
        raise UnsupportedArchiveError(
            f"{path}: unsupported archive format (sagemaker_submit_directory takes a tar archive, "
            "such as sourcedir.tar.gz, a directory or a single script)"
        )
    shutil.copy2(path, code_dir / path.name)


def _empty_directory(directory: Path) -> None:
    import shutil

    for entry in directory.iterdir():
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry)
        else:
            os.unlink(entry)
