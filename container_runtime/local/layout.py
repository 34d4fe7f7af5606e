"""Where a local job keeps its files.

    <jobs dir>/<job name>/
        describe.json            status, times, hyperparameters, artifacts, final metrics
        hosts/algo-N/            each host's base dir, laid out like /opt/ml
        logs/algo-N.log          each host's output
        output/model.tar.gz      the master's artifacts (unless the output goes elsewhere)
        output/output.tar.gz
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from container_runtime.local.errors import LocalModeError

BASE_SUBDIRS = ("input/config", "input/data", "code", "model", "output/data")


class JobLayout(NamedTuple):
    root: Path

    @classmethod
    def create(cls, root: Path, hosts: list[str]) -> JobLayout:
        """Make the job dir; an existing one is never reused, so no old file passes for a result."""
        try:
            root.parent.mkdir(parents=True, exist_ok=True)
            root.mkdir()
        except FileExistsError:
            raise LocalModeError(f"job dir {root} already exists: choose another job name") from None
        except OSError as error:
            raise LocalModeError(f"cannot create the job dir {root}: {error.strerror}") from error
        layout = cls(root)
        for host in hosts:
            for sub in BASE_SUBDIRS:
                (layout.host_base(host) / sub).mkdir(parents=True)
        layout.logs.mkdir()
        layout.output.mkdir()
        return layout

    @property
    def hosts_dir(self) -> Path:
        return self.root / "hosts"

    def host_base(self, host: str) -> Path:
        return self.hosts_dir / host

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    def log_file(self, host: str) -> Path:
        return self.logs / f"{host}.log"

    @property
    def output(self) -> Path:
        return self.root / "output"

    @property
    def describe_file(self) -> Path:
        return self.root / "describe.json"
