"""Building job base dirs and running the real `train` console script on them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from container_runtime.local.backends.commands import runtime_command

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"


def train_command() -> list[str]:
    """The installed `train` script next to this interpreter, else the module: what local mode runs."""
    return runtime_command("train")


@dataclass
class JobDir:
    """A base dir laid out like /opt/ml for one test."""

    base: Path

    @classmethod
    def create(cls, root: Path) -> JobDir:
        return cls.at(root / "opt_ml")

    @classmethod
    def at(cls, base: Path) -> JobDir:
        for sub in ("input/config", "input/data", "code", "model", "output/data"):
            (base / sub).mkdir(parents=True, exist_ok=True)
        return cls(base)

    @property
    def code(self) -> Path:
        return self.base / "code"

    @property
    def output(self) -> Path:
        return self.base / "output"

    @property
    def model(self) -> Path:
        return self.base / "model"

    def hyperparameters(self, values: Mapping[str, Any], *, encode: bool = True) -> JobDir:
        """Write hyperparameters.json; `encode` JSON-encodes each value as the SDK does."""
        content = {k: json.dumps(v) if encode else v for k, v in values.items()}
        return self.config_file("hyperparameters.json", content)

    def config_file(self, name: str, content: Any) -> JobDir:
        path = self.base / "input" / "config" / name
        path.write_text(content if isinstance(content, str) else json.dumps(content))
        return self

    def script(self, name: str, *, as_name: str | None = None) -> JobDir:
        """Copy a script from test/scripts into the code dir."""
        shutil.copy(SCRIPTS / name, self.code / (as_name or name))
        return self

    def channel(self, name: str, files: Mapping[str, str] | None = None) -> Path:
        path = self.base / "input" / "data" / name
        path.mkdir(parents=True, exist_ok=True)
        for file_name, text in (files or {}).items():
            (path / file_name).write_text(text)
        return path

    def failure(self) -> str | None:
        path = self.output / "failure"
        return path.read_text() if path.exists() else None

    def succeeded(self) -> bool:
        return (self.output / "success").exists()

    def run(
        self, env: Mapping[str, str] | None = None, *, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            train_command(),
            env=self.environment(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def start(self, env: Mapping[str, str] | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            train_command(),
            env=self.environment(env),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def environment(self, extra: Mapping[str, str] | None) -> dict[str, str]:
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("SM_", "SAGEMAKER_", "TRAINING_JOB_", "CUDA_VISIBLE"))
        }
        env["SAGEMAKER_BASE_DIR"] = str(self.base)
        env.update(extra or {})
        return env


def processes_of_job(job_dir: Path) -> list[int]:
    """Live processes (any namespace, not this one) whose base dir lies in `job_dir`: every `train` of a
    job on this machine and the script under it, for checking that nothing of a job is left running."""
    marker = f"SAGEMAKER_BASE_DIR={job_dir}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes().split(b"\0")
            zombie = (entry / "stat").read_text().rpartition(")")[2].split()[0] == "Z"
        except (OSError, IndexError):
            continue
        if not zombie and any(item.startswith(marker) for item in environ):
            found.append(int(entry.name))
    return found
