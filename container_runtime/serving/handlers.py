"""Choosing the handlers: the user module's functions, else the framework's defaults."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

from container_runtime.errors import ConfigError
from container_runtime.plugins import SERVING_DEFAULTS, load_plugin
from container_runtime.serving.defaults import DefaultHandlers
from container_runtime.usercode.inspection import top_level_names

HANDLER_NAMES = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn", "batch_predict_fn")
PIPELINE_NAMES = ("input_fn", "predict_fn", "output_fn", "batch_predict_fn")
#: A user module sets `supports_batching = True` when its predict_fn is row-wise (rows in, one
#: output row per input row), so requests may be concatenated into one call.
BATCHING_FLAG = "supports_batching"

SOURCE = "environment variable SAGEMAKER_SERVING_FRAMEWORK"


class Handlers(NamedTuple):
    model_fn: Callable[..., Any]
    input_fn: Callable[..., Any]
    predict_fn: Callable[..., Any]
    output_fn: Callable[..., Any]
    transform_fn: Callable[..., Any] | None
    #: Names the user module defined; the rest are defaults.
    user_defined: frozenset[str]
    #: Response types the default output_fn can produce.
    output_types: tuple[str, ...]
    #: The user's row-wise predict for concatenated requests (else predict_fn when `rowwise`).
    batch_predict_fn: Callable[..., Any] | None = None
    #: Whether requests' rows may be concatenated into one predict call.
    rowwise: bool = False


def default_handlers(framework: str, *, allow_pickle: bool, program: str | None = None) -> DefaultHandlers:
    """The defaults the framework registered (plug-in group `container_runtime.serving_defaults`)."""
    factory = load_plugin(SERVING_DEFAULTS, framework, SOURCE)
    handlers: DefaultHandlers = factory(allow_pickle=allow_pickle, program=program)
    return handlers


def defined_handler_names(source_file: Path) -> frozenset[str]:
    """Handler names (and the batching flag) a module defines at top level, read without importing it."""
    return top_level_names(source_file) & frozenset((*HANDLER_NAMES, BATCHING_FLAG))


def batching_applies(names: frozenset[str], defaults: DefaultHandlers) -> tuple[bool, str]:
    """Whether requests may be batched with these handlers (names from `top_level_names`), and why not."""
    if "transform_fn" in names:
        return False, "the module defines transform_fn, which takes whole bodies"
    if "batch_predict_fn" in names or BATCHING_FLAG in names:
        return True, ""
    if "predict_fn" in names:
        return False, f"the module defines predict_fn without batch_predict_fn or {BATCHING_FLAG} = True"
    if not defaults.rowwise_predict:
        return False, "the framework's default predict_fn is not row-wise"
    return True, ""


def check_handler_combination(names: frozenset[str], source: str) -> None:
    """`transform_fn` replaces the pipeline; defining both is ambiguous, so it is refused."""
    clashing = sorted(names & set(PIPELINE_NAMES))
    if "transform_fn" in names and clashing:
        raise ConfigError(source, f"defines transform_fn together with {', '.join(clashing)}: keep one or the other")


def import_user_module(source_file: Path) -> ModuleType:
    """Import (never run as __main__) the user's module from its file; its dir goes on sys.path."""
    directory = str(source_file.parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = source_file.stem
    spec = importlib.util.spec_from_file_location(name, source_file)
    if spec is None or spec.loader is None:
        raise ConfigError(str(source_file), "cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def resolve_handlers(module: ModuleType | None, defaults: DefaultHandlers, source: str) -> Handlers:
    user = {
        name: getattr(module, name)
        for name in HANDLER_NAMES
        if module is not None and callable(getattr(module, name, None))
    }
    check_handler_combination(frozenset(user), source)
    if "batch_predict_fn" in user:
        rowwise = True
    elif "predict_fn" in user:
        rowwise = bool(getattr(module, BATCHING_FLAG, False))
    else:
        rowwise = defaults.rowwise_predict and "transform_fn" not in user
    return Handlers(
        model_fn=user.get("model_fn", defaults.model_fn),
        input_fn=user.get("input_fn", defaults.input_fn),
        predict_fn=user.get("predict_fn", defaults.predict_fn),
        output_fn=user.get("output_fn", defaults.output_fn),
        transform_fn=user.get("transform_fn"),
        user_defined=frozenset(user),
        output_types=defaults.output_types,
        batch_predict_fn=user.get("batch_predict_fn"),
        rowwise=rowwise,
    )
