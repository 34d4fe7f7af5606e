"""Which handlers may be batched: the defaults, or a user module that says its predict is row-wise."""

from __future__ import annotations

from pathlib import Path

import pytest

from container_runtime.serving.defaults import DefaultHandlers
from container_runtime.serving.handlers import (
    batching_applies,
    defined_handler_names,
    import_user_module,
    resolve_handlers,
)

CASES = {
    "defaults.py": ("def model_fn(model_dir):\n    return None\n", True),
    "own_input.py": ("def model_fn(d):\n    return None\ndef input_fn(b, t):\n    return b\n", True),
    "own_predict.py": ("def model_fn(d):\n    return None\ndef predict_fn(x, m):\n    return x\n", False),
    "flagged.py": ("supports_batching = True\ndef model_fn(d):\n    return None\ndef predict_fn(x, m):\n    return x\n",
                   True),
    "batch_fn.py": ("def model_fn(d):\n    return None\ndef predict_fn(x, m):\n    return x\n"
                    "def batch_predict_fn(x, m):\n    return x * 2\n", True),
    "transform.py": ("def model_fn(d):\n    return None\ndef transform_fn(m, b, t, a):\n    return b\n", False),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_batching_applies_and_the_worker_agrees(tmp_path: Path, name: str) -> None:
    source, expected = CASES[name]
    module_file = tmp_path / name
    module_file.write_text(source)
    applies, why_not = batching_applies(defined_handler_names(module_file), DefaultHandlers())
    assert applies is expected
    assert bool(why_not) is not expected
    handlers = resolve_handlers(import_user_module(module_file), DefaultHandlers(), name)
    assert handlers.rowwise is expected
    if name == "batch_fn.py":
        assert handlers.batch_predict_fn is not None and handlers.batch_predict_fn(2, None) == 4
