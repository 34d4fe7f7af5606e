"""What `pip install` of the project puts into site-packages: only this project's own names.

A generic top-level name (`frameworks`, `local_mode`) collides with other distributions and
with a user's own `frameworks.py` in the code dir, which runs first on the path.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
OUR_NAMES = {"container_runtime", "container_runtime_chainer", "container_runtime_tensorflow"}


def test_the_installed_distribution_holds_only_project_specific_top_level_names(tmp_path: Path) -> None:
    source = tmp_path / "source"  # setuptools writes build/ beside setup.py: not into the checkout
    source.mkdir()
    for name in ("setup.py", "README.md"):
        shutil.copy(REPO / name, source / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in ("container_runtime", "frameworks"):
        shutil.copytree(REPO / name, source / name, ignore=ignore)
    wheels = tmp_path / "wheels"
    target = tmp_path / "site-packages"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-cache-dir"]
    subprocess.run([*pip, "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", str(wheels), str(source)],
                   check=True, capture_output=True, timeout=300)
    (wheel,) = wheels.glob("container_runtime-*.whl")
    subprocess.run([*pip, "install", "--quiet", "--no-deps", "--no-compile", "--target", str(target), str(wheel)],
                   check=True, capture_output=True, timeout=300)

    (dist_info,) = target.glob("container_runtime-*.dist-info")
    recorded = [line.split(",", 1)[0] for line in (dist_info / "RECORD").read_text().splitlines()]
    # Console scripts are recorded relative to site-packages (../../bin/train); they are not modules.
    top_level_code = {path.split("/", 1)[0] for path in recorded if not path.startswith("../")} - {dist_info.name}
    assert top_level_code == OUR_NAMES
    assert {path.name for path in target.iterdir()} == OUR_NAMES | {dist_info.name, "bin"}
    # The adapters' subpackages and the entry points the core looks frameworks up by travel too.
    assert (target / "container_runtime_tensorflow" / "legacy" / "runner.py").is_file()
    assert (target / "container_runtime" / "local" / "tuning" / "tuner.py").is_file()
    entry_points = (dist_info / "entry_points.txt").read_text()
    assert "[container_runtime.serving_defaults]" in entry_points
    assert "chainer = container_runtime_chainer.training:run" in entry_points
