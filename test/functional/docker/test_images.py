"""The image definitions: four variants of one Dockerfile, and what every built image promises.

The first tests need no Docker: they read dockerfiles/ (and lint it when hadolint and
shellcheck are installed, as the test extra does), so the GPU variants, which CI does not
build, are checked too. The rest run the built CPU images: the entry point, the environment a
SageMaker user relies on, and the label SageMaker reads.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from harness.containers import prepare_job, run_container
from harness.docker_daemon import DockerDaemon
from harness.framework_images import build_script

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]

REPO = Path(__file__).resolve().parents[3]
DOCKERFILE = REPO / "dockerfiles" / "Dockerfile"
SCRIPTS = sorted((REPO / "dockerfiles").glob("*.sh"))
LABEL = "com.amazonaws.sagemaker.capabilities.accept-bind-to-port"


def instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of a Dockerfile, continuation lines joined, comments dropped."""
    result: list[tuple[str, str]] = []
    pending = ""
    for line in path.read_text().splitlines():
        if not pending and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        whole = pending + line
        pending = ""
        keyword, _, rest = whole.strip().partition(" ")
        result.append((keyword.upper(), " ".join(rest.split())))
    return result


def final_stage(path: Path) -> list[tuple[str, str]]:
    steps = instructions(path)
    last_from = max(index for index, (keyword, _) in enumerate(steps) if keyword == "FROM")
    return steps[last_from:]


def assignments(text: str) -> dict[str, str]:
    """KEY=VALUE pairs of an ENV or LABEL line (values may be double-quoted)."""
    return {key: value.strip('"') for key, value in re.findall(r'([\w.-]+)=("[^"]*"|\S+)', text)}


def build_arguments(command: list[str]) -> dict[str, str]:
    values = [command[index + 1] for index, part in enumerate(command) if part == "--build-arg"]
    return dict(value.split("=", 1) for value in values)


def test_the_four_variants_are_one_dockerfile_with_their_own_build_arguments() -> None:
    build = build_script()
    assert set(build.VARIANTS) == {"chainer-cpu", "chainer-gpu", "tensorflow-cpu", "tensorflow-gpu"}
    for name, variant in build.VARIANTS.items():
        command = build.build_command(variant)
        assert command[command.index("-f") + 1] == str(DOCKERFILE), name
        assert command[-1] == str(REPO), f"{name}: the build context must be the repository root"
        arguments = build_arguments(command)
        assert set(arguments) == {"BASE_IMAGE", "FRAMEWORK", "GPU_PACKAGES"}, name
        assert arguments["FRAMEWORK"] == variant.framework
        if variant.processor == "cpu":
            assert arguments["BASE_IMAGE"] == "python:3.11-slim-bookworm"
            assert arguments["GPU_PACKAGES"] == ""
        else:
            assert re.fullmatch(r"nvidia/cuda:12\.\d+\.\d+-cudnn\d?-runtime-ubuntu22\.04", arguments["BASE_IMAGE"])
    assert build.VARIANTS["chainer-gpu"].gpu_packages == ("cupy-cuda12x>=13,<14",)
    assert build.VARIANTS["tensorflow-gpu"].gpu_packages == ("tensorflow[and-cuda]>=2.16,<3",)
    assert len({variant.tag() for variant in build.VARIANTS.values()}) == 4


def test_build_script_lists_selects_and_rejects_variants(tmp_path: Path) -> None:
    script = REPO / "dockerfiles" / "build.py"

    def build_py(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, str(script), *args], capture_output=True, text=True, timeout=60)

    listed = build_py("--list")
    assert listed.returncode == 0
    assert [line.split()[0] for line in listed.stdout.splitlines()] == [
        "chainer-cpu", "chainer-gpu", "tensorflow-cpu", "tensorflow-gpu"]
    dry = build_py("gpu", "--dry-run", "--tag-prefix", "me")
    assert dry.returncode == 0
    assert [line.split(" -t ")[1].split()[0] for line in dry.stdout.splitlines()] == ["me/chainer:gpu", "me/tensorflow:gpu"]
    assert build_py("pytorch-cpu").returncode == 2
    (tmp_path / "empty.pem").write_text("not a certificate")
    refused = build_py("cpu", "--dry-run", "--extra-ca-certs", str(tmp_path / "empty.pem"))
    assert refused.returncode != 0 and refused.stderr.strip().startswith("error: --extra-ca-certs")


def test_every_image_gets_the_same_environment_label_and_entry_point() -> None:
    steps = final_stage(DOCKERFILE)
    environment = {key: value for keyword, text in instructions(DOCKERFILE) if keyword == "ENV"
                   for key, value in assignments(text).items()}
    assert environment["PYTHONUNBUFFERED"] == "1"
    assert environment["PYTHONDONTWRITEBYTECODE"] == "1"
    assert environment["LANG"] == environment["LC_ALL"] == "C.UTF-8"
    assert environment["PATH"].startswith("/opt/venv/bin:")
    assert environment["SAGEMAKER_TRAINING_MODULE"] == "container_runtime_${FRAMEWORK}.training:run"
    assert environment["SAGEMAKER_SERVING_FRAMEWORK"] == "${FRAMEWORK}"
    labels = {key: value for keyword, text in steps if keyword == "LABEL" for key, value in assignments(text).items()}
    assert labels[LABEL] == "true"
    assert [text for keyword, text in steps if keyword == "ENTRYPOINT"] == [
        '["/usr/local/bin/container-runtime-entrypoint"]']
    assert not [keyword for keyword, _ in steps if keyword in ("CMD", "USER")]
    # Each framework's training module names a real `run` function of this repository.
    for framework in {variant.framework for variant in build_script().VARIANTS.values()}:
        tree = ast.parse((REPO / "frameworks" / framework / f"container_runtime_{framework}" / "training.py").read_text())
        assert "run" in {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}, framework


def test_the_dockerfile_takes_no_secrets_and_builds_from_any_base() -> None:
    steps = instructions(DOCKERFILE)
    arguments = [text.split("=")[0] for keyword, text in steps if keyword == "ARG"]
    assert not [name for name in arguments if re.search(r"PASSWORD|TOKEN|SECRET|ACCESS_KEY|CREDENTIAL", name)]
    assert steps[0] == ("ARG", f"BASE_IMAGE={build_script().CPU_BASE_IMAGE}")
    assert [text for keyword, text in steps if keyword == "FROM"] == ["${BASE_IMAGE} AS common", "common"]
    # No `sh -c` of anything a user passes: the entry point execs its arguments.
    code = [line for line in (REPO / "dockerfiles" / "entrypoint.sh").read_text().splitlines()
            if not line.lstrip().startswith("#")]
    assert not [line for line in code if re.search(r"\bsh -c\b|\beval\b", line)]


def dockerignore_includes(path: str) -> bool:
    """Docker's rule: the last pattern of .dockerignore that matches a path decides."""
    included = True
    for line in (REPO / ".dockerignore").read_text().splitlines():
        pattern = line.strip()
        if not pattern or pattern.startswith("#"):
            continue
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        anywhere = pattern.startswith("**/")  # matches at any depth; other patterns from the root only
        pattern = pattern.removeprefix("**/")
        parts = path.split("/")
        prefixes = ["/".join(parts[: index + 1]) for index in range(len(parts))]
        if any(fnmatch.fnmatch(prefix, pattern) or (anywhere and fnmatch.fnmatch(part, pattern))
               for prefix, part in zip(prefixes, parts, strict=True)):
            included = negated
    return included


def test_the_build_context_holds_the_package_and_nothing_else() -> None:
    copied = [text.split()[:-1] for keyword, text in instructions(DOCKERFILE) if keyword == "COPY"]
    for sources in copied:
        for source in sources:
            assert dockerignore_includes(source), f"COPY {source}: excluded by .dockerignore"
    for kept in ("setup.py", "container_runtime/cli/train.py", "frameworks/chainer/container_runtime_chainer/training.py",
                 "container_runtime/local/cli.py", "dockerfiles/entrypoint.sh"):
        assert dockerignore_includes(kept), kept
    for left_out in (".venv/bin/python", ".git/HEAD", "build/lib/setup.py", ".pytest_cache/v/x", "test/conftest.py",
                     "container_runtime/__pycache__/log.cpython-311.pyc", "container_runtime.egg-info/PKG-INFO",
                     "examples/chainer/mnist.py", ".mypy_cache/3.11/x.json"):
        assert not dockerignore_includes(left_out), left_out


def tool(name: str) -> str:
    found = Path(sys.executable).parent / name
    path = str(found) if found.is_file() else shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is not installed (it comes with the test extra)")
    return path


def test_hadolint_passes_the_dockerfile() -> None:
    result = subprocess.run([tool("hadolint"), str(DOCKERFILE)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_shellcheck_passes_the_image_scripts() -> None:
    result = subprocess.run([tool("shellcheck"), "--shell=sh", *map(str, SCRIPTS)], capture_output=True, text=True,
                            timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


# --- the built images --------------------------------------------------------------------------


#: Each variant's image fixture (conftest.py): the GPU ones are built on a stand-in base.
IMAGE_FIXTURES = {"chainer-cpu": "chainer_image", "tensorflow-cpu": "tensorflow_image",
                  "chainer-gpu": "chainer_gpu_image", "tensorflow-gpu": "tensorflow_gpu_image"}


@pytest.fixture(scope="module", params=["chainer", "tensorflow"])
def image(request: pytest.FixtureRequest) -> tuple[str, str]:
    return request.param, request.getfixturevalue(f"{request.param}_image")


@pytest.mark.parametrize("variant", list(IMAGE_FIXTURES))
def test_image_config_is_what_sagemaker_and_scripts_read(
    daemon: DockerDaemon, variant: str, request: pytest.FixtureRequest
) -> None:
    framework = variant.split("-")[0]
    tag = request.getfixturevalue(IMAGE_FIXTURES[variant])
    config = json.loads(daemon.run("image", "inspect", "--format", "{{json .Config}}", tag).stdout)
    environment = dict(entry.split("=", 1) for entry in config["Env"])
    assert config["Labels"][LABEL] == "true"
    assert config["Entrypoint"] == ["/usr/local/bin/container-runtime-entrypoint"]
    assert environment["SAGEMAKER_TRAINING_MODULE"] == f"container_runtime_{framework}.training:run"
    assert environment["SAGEMAKER_SERVING_FRAMEWORK"] == framework
    assert environment["PYTHONUNBUFFERED"] == "1" and environment["PYTHONDONTWRITEBYTECODE"] == "1"
    assert environment["LC_ALL"] == "C.UTF-8"
    assert environment["PATH"].startswith("/opt/venv/bin:")
    assert "8080/tcp" in config["ExposedPorts"]


def test_with_no_command_the_image_runs_train(daemon: DockerDaemon, image: tuple[str, str], tmp_path: Path) -> None:
    """SDK v3's ModelTrainer without `source_code` passes no command: the image must train."""
    _, tag = image
    script = tmp_path / "save.py"
    script.write_text("import os\nopen(os.path.join(os.environ['SM_MODEL_DIR'], 'model.txt'), 'w').write('trained')\n")
    job = prepare_job(tmp_path / "opt_ml", [script], {})
    result = run_container(daemon, tag, [], mounts={job.base: "/opt/ml"})
    assert result.returncode == 0, result.stderr[-2000:]
    assert job.succeeded()
    assert (job.model / "model.txt").read_text() == "trained"


def test_entry_point_dispatches_train_and_serve_and_runs_anything_else_as_given(
    daemon: DockerDaemon, image: tuple[str, str]
) -> None:
    framework, tag = image
    assert run_container(daemon, tag, ["train", "--help"]).stdout.startswith("usage: train")
    assert run_container(daemon, tag, ["serve", "--help"]).stdout.startswith("usage: serve")
    wrong = run_container(daemon, tag, ["train", "--epochs", "3"])
    assert wrong.returncode == 2 and "unexpected argument '--epochs'" in wrong.stderr
    # Arguments reach the command untouched: no shell expands `$HOME` or `;`.
    probe = "import sys, locale, os; print(sys.argv[1:], sys.executable, locale.getpreferredencoding(), os.getpid())"
    echoed = run_container(daemon, tag, ["python", "-c", probe, "$HOME", "a;b"])
    assert echoed.returncode == 0, echoed.stderr
    assert echoed.stdout.split() == ["['$HOME',", "'a;b']", "/opt/venv/bin/python", "UTF-8", "1"]
    imported = run_container(daemon, tag, ["python", "-c", f"import {framework}, mpi4py, matplotlib; print('ok')"])
    assert imported.stdout.strip() == "ok", imported.stderr[-2000:]
