"""Input channels: where each comes from (a local dir or file, `file://`, `s3://`), checked before
the job starts, and copied into every host's `input/data/<channel>`.

Copies, not links: a script that writes into its channel never touches the user's files.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple
from urllib.parse import unquote, urlparse

from container_runtime.local.errors import LocalModeError

CHANNEL_NAME = re.compile(r"^[A-Za-z0-9\.\-_]+$")


class ChannelSource(NamedTuple):
    name: str
    #: An absolute local path, or an `s3://bucket/prefix` URI.
    location: str

    @property
    def is_s3(self) -> bool:
        return self.location.startswith("s3://")


def parse_channels(channels: Mapping[str, str | Path]) -> tuple[ChannelSource, ...]:
    return tuple(parse_channel(name, location) for name, location in channels.items())


def parse_channel(name: str, location: str | Path) -> ChannelSource:
    if not CHANNEL_NAME.match(name):
        raise LocalModeError(f"channel {name!r}: names are letters, digits, '.', '-' and '_'")
    text = str(location)
    if text.startswith("s3://"):
        parsed = urlparse(text)
        if not parsed.netloc:
            raise LocalModeError(f"channel {name!r}: {text!r} names no bucket")
        return ChannelSource(name, text)
    if text.startswith("file://"):
        text = unquote(urlparse(text).path)
    elif "://" in text:
        raise LocalModeError(f"channel {name!r}: {text!r}: only local paths, file:// and s3:// are supported")
    path = Path(text).expanduser().resolve()
    if not path.exists():
        raise LocalModeError(f"channel {name!r}: no such file or directory {str(path)!r}")
    return ChannelSource(name, str(path))


def stage_channels(
    sources: Sequence[ChannelSource], host_bases: Sequence[Path], *, s3_endpoint_url: str | None, staging: Path
) -> None:
    """Put every channel's files into each host's base dir."""
    for source in sources:
        if source.is_s3:
            from container_runtime.local.s3 import download_prefix

            local = staging / source.name
            download_prefix(source.location, local, endpoint_url=s3_endpoint_url, label=f"channel {source.name}")
        else:
            local = Path(source.location)
        for base in host_bases:
            target = base / "input" / "data" / source.name
            if local.is_dir():
                shutil.copytree(local, target, dirs_exist_ok=True)
            else:
                target.mkdir(parents=True, exist_ok=True)
                shutil.copy2(local, target / local.name)
