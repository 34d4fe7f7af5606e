"""Math-library thread limits for pre-forked workers."""

from __future__ import annotations

import pytest

from container_runtime.serving.threads import THREAD_VARIABLES, limit_math_threads


@pytest.mark.parametrize(("cpus", "workers", "expected"), [(2, 2, 1), (8, 2, 4), (4, 8, 1), (1, 1, 1), (16, 3, 5)])
def test_cores_are_shared_between_workers(cpus: int, workers: int, expected: int) -> None:
    environ: dict[str, str] = {}
    assert limit_math_threads(environ, workers, cpus) == expected
    assert {environ[name] for name in THREAD_VARIABLES} == {str(expected)}


def test_operator_settings_win() -> None:
    environ = {name: "3" for name in THREAD_VARIABLES}
    assert limit_math_threads(environ, 2, 8) is None
    assert set(environ.values()) == {"3"}
    partly = {"OMP_NUM_THREADS": "6"}
    limit_math_threads(partly, 2, 8)
    assert partly["OMP_NUM_THREADS"] == "6" and partly["OPENBLAS_NUM_THREADS"] == "4"
