"""Model and output artifacts: pack a directory into a standard `.tar.gz`, fast.

Contract: `pack_directory(source, destination)` writes the contents of `source` as a gzip
tar that `tarfile.open(path, "r:gz")` and `gzip` read, with entry names relative to
`source` and no "./" prefix. It streams (never holds a file in memory), compresses at
level 1 with ISA-L when installed and stdlib zlib otherwise, and replaces `destination`
atomically. Importing this package imports only the standard library.
"""

from container_runtime.artifacts.packer import PackResult, SkippedEntry, pack_directory

__all__ = ["PackResult", "SkippedEntry", "pack_directory"]
