"""The notebook replay mechanism itself (test/harness/notebook_cells.py, notebooks.py and the kernel): which blocks
are cells, what an import rewrite may touch, how substitutions guard against a changed notebook,
and what the kernel runs and reports."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.notebook_cells import (
    NOTEBOOKS,
    ImportRule,
    NotebookDrift,
    Substitution,
    plan,
    read_blocks,
    read_cells,
    rewrite_imports,
)
from harness.notebooks import gpu_tools_path, lay_out, parse_transcript, replay

RST = """\
Title
-----

.. code:: ipython3

    import sagemaker
    x = 1

    print(x)

Some text quoting the script:

.. code:: python

   if __name__ == '__main__':
       raise SystemExit(1)

.. code:: ipython3

    !echo {x}
"""


def test_code_cells_are_the_ipython3_blocks_and_quoted_code_does_not_run() -> None:
    blocks = read_blocks(RST)
    assert [(block.language, block.number, block.runs) for block in blocks] == [
        ("ipython3", 1, True), ("python", 0, False), ("ipython3", 2, True)]
    assert blocks[0].source == "import sagemaker\nx = 1\n\nprint(x)\n"
    assert blocks[1].source.startswith("if __name__")


@pytest.mark.parametrize(("name", "cells"), [
    ("mnist-training-and-prediction-with-sagemaker-chainer.rst", 15),
    ("hyperparameter-tuning-with-chainer.rst", 15),
    ("training-a-sentiment-analysis-model-with-chainer.rst", 11),
    ("hyperparameter-tuning-using-sagemaker-tensorflow-container.rst", 11),
    ("tensorflow-eager-execution-with-amazon-sagemaker-script-mode.rst", 25),
])
def test_the_five_notebooks_cells(name: str, cells: int) -> None:
    path = NOTEBOOKS / name
    if not path.exists():
        pytest.skip(f"{path} is not on this machine")
    assert [cell.number for cell in read_cells(path)] == list(range(1, cells + 1))


def test_only_import_lines_are_rewritten() -> None:
    source = (
        "import sagemaker\n"
        "from sagemaker import get_execution_role\n"
        "    from sagemaker.chainer.estimator import Chainer\n"
        "session = sagemaker.Session()  # import sagemaker stays in a comment\n"
        "s = 'from sagemaker import x'\n"
    )
    assert rewrite_imports(source) == (
        "import container_runtime.sdk as sagemaker\n"
        "from container_runtime.sdk import get_execution_role\n"
        "    from container_runtime.sdk.chainer.estimator import Chainer\n"
        "session = sagemaker.Session()  # import sagemaker stays in a comment\n"
        "s = 'from sagemaker import x'\n"
    )


def test_an_sdk_import_no_rule_covers_is_an_error_and_other_imports_stay() -> None:
    assert rewrite_imports("import numpy as np\n") == "import numpy as np\n"
    with pytest.raises(NotebookDrift, match="sagemaker.amazon"):
        rewrite_imports("import sagemaker.amazon\n")
    extra = (ImportRule(r"import tensorflow as tf", "import tensorflow.compat.v1 as tf"),)
    assert rewrite_imports("import tensorflow as tf\n", extra) == "import tensorflow.compat.v1 as tf\n"


def cells_of(text: str) -> list:  # type: ignore[type-arg]
    return [block for block in read_blocks(text) if block.runs]


def test_substitutions_replace_exact_text_or_whole_cells_and_say_why() -> None:
    planned = plan(cells_of(RST), [
        Substitution(1, "data", "our data", old="x = 1", new="x = 2"),
        Substitution(2, "display", "shows the value only"),
    ])
    assert planned[0].source == "import container_runtime.sdk as sagemaker\nx = 2\n\nprint(x)\n"
    assert planned[0].changes == ("data: our data",)
    assert planned[1].skipped and planned[1].changes == ("display: shows the value only",)


def test_a_substitution_the_notebook_no_longer_matches_is_an_error() -> None:
    with pytest.raises(NotebookDrift, match="occurs 0 times"):
        plan(cells_of(RST), [Substitution(1, "data", "why", old="y = 1", new="y = 2")])
    with pytest.raises(NotebookDrift, match="no code cell 3"):
        plan(cells_of(RST), [Substitution(3, "display", "why")])
    with pytest.raises(ValueError, match="needs its reason"):
        plan(cells_of(RST), [Substitution(1, "display", " ")])


def test_the_kernel_runs_cells_in_one_namespace_and_shows_a_last_value(tmp_path: Path) -> None:
    planned = plan(cells_of(
        ".. code:: ipython3\n\n    x = 20\n    print('x is', x)\n\n"
        ".. code:: ipython3\n\n    import sys\n    print('to stderr', file=sys.stderr)\n    {'answer': x + 1}\n\n"
        ".. code:: ipython3\n\n    name = 'out.txt'\n    !touch {name}\n    !ls {name}\n"
    ), [])
    result = replay(planned, tmp_path, home=tmp_path / "home", timeout=60)
    result.check(planned)
    assert result.output(1) == "x is 20\n"
    assert result.output(2) == "to stderr\n{'answer': 21}\n"
    assert result.output(3) == "out.txt\n" and (tmp_path / "out.txt").exists()


def test_the_kernel_stops_at_the_first_failing_cell(tmp_path: Path) -> None:
    planned = plan(cells_of(
        ".. code:: ipython3\n\n    raise RuntimeError('boom')\n\n"
        ".. code:: ipython3\n\n    print('never')\n"
    ), [])
    result = replay(planned, tmp_path, home=tmp_path / "home", timeout=60)
    assert result.returncode == 1
    assert not result.runs[1].ok and "RuntimeError: boom" in result.output(1)
    assert 2 not in result.runs
    with pytest.raises(AssertionError, match="cell 1 failed"):
        result.check(planned)


def test_a_failing_shell_line_fails_its_cell(tmp_path: Path) -> None:
    planned = plan(cells_of(".. code:: ipython3\n\n    !ls does-not-exist\n"), [])
    result = replay(planned, tmp_path, home=tmp_path / "home", timeout=60)
    assert not result.runs[1].ok and "exited" in result.output(1)


def test_a_cell_cut_short_counts_as_failed() -> None:
    runs = parse_transcript("@@notebook-replay@@ begin 1\nhello\n@@notebook-replay@@ end 1 ok\n"
                            "@@notebook-replay@@ begin 2\npartial\n")
    assert runs[1].ok and runs[1].output == "hello\n"
    assert not runs[2].ok and runs[2].output == "partial\n"


def test_a_pandas_value_is_shown_whole_as_a_notebook_renders_it(tmp_path: Path) -> None:
    pytest.importorskip("pandas")
    planned = plan(cells_of(
        ".. code:: ipython3\n\n    import pandas\n"
        "    pandas.DataFrame({f'a_rather_long_column_name_{i}': [i] for i in range(12)})\n"
    ), [])
    result = replay(planned, tmp_path, home=tmp_path / "home", timeout=60)
    result.check(planned)
    assert "a_rather_long_column_name_11" in result.output(1) and "..." not in result.output(1)
    assert result.runs[1].seconds is not None and "cell 1: " in result.timings()


def test_a_kernel_past_its_time_is_stopped_and_its_cell_counts_as_failed(tmp_path: Path) -> None:
    planned = plan(cells_of(".. code:: ipython3\n\n    import time\n    print('started', flush=True)\n"
                            "    time.sleep(60)\n"), [])
    result = replay(planned, tmp_path, home=tmp_path / "home", timeout=3)
    assert result.returncode != 0 and not result.runs[1].ok
    assert result.output(1).startswith("started\n") and "killed after 3 s" in result.transcript


def test_a_machine_without_nvidia_smi_gets_one_that_reports_no_driver(tmp_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    import subprocess

    monkeypatch.setenv("PATH", "/nonexistent")
    directory = gpu_tools_path(tmp_path / "tools")
    completed = subprocess.run([f"{directory}/nvidia-smi"], capture_output=True, text=True, check=False)
    assert completed.returncode == 9 and "couldn't communicate with the NVIDIA driver" in completed.stderr


def test_the_layout_puts_our_files_where_the_notebook_expects_its_own(tmp_path: Path) -> None:
    ours = tmp_path / "mnist.py"
    ours.write_text("print('ours')\n")
    lay_out(tmp_path / "notebook", {"src/chainer_mnist_single_machine.py": ours})
    assert (tmp_path / "notebook" / "src" / "chainer_mnist_single_machine.py").read_text() == "print('ours')\n"
