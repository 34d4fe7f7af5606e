"""Packing `model/` and `output/data/` into tarballs after the job, whatever its outcome."""

from __future__ import annotations

from pathlib import Path

from container_runtime.config.paths import JobPaths
from container_runtime.log import get_logger

logger = get_logger(__name__)


def artifact_targets(paths: JobPaths) -> tuple[tuple[Path, Path], ...]:
    return (
        (paths.model, paths.output / "model.tar.gz"),
        (paths.output_data, paths.output / "output.tar.gz"),
    )


def package_artifacts(paths: JobPaths, job_started_at: float) -> list[str]:
    """Pack each artifact dir; return one line per problem (empty when all went well).

    A tarball the job wrote itself (modified since `job_started_at`, a `time.time()`) is
    never overwritten; one left by an earlier run in the same base dir is replaced.
    """
    from container_runtime.artifacts import pack_directory

    problems = []
    for source, destination in artifact_targets(paths):
        if written_since(destination, job_started_at):
            logger.warning("%s already exists (written by the job): not overwriting it", destination)
            continue
        try:
            result = pack_directory(source, destination)
        except OSError as error:
            problems.append(f"cannot pack {source} into {destination}: {error}")
            logger.error("Cannot pack %s into %s: %s", source, destination, error)
            continue
        logger.info(
            "Packed %s into %s: %d files, %.1f MB -> %.1f MB in %.2f s (%s)",
            source,
            destination.name,
            result.files,
            result.bytes_in / 1e6,
            result.bytes_out / 1e6,
            result.seconds,
            result.compressor,
        )
        for skipped in result.skipped:
            logger.warning("While packing %s: %s", skipped.path, skipped.reason)
    return problems


def written_since(path: Path, moment: float) -> bool:
    try:
        return path.stat().st_mtime >= moment
    except FileNotFoundError:
        return False
