"""Handing the job to a framework adapter named by `SAGEMAKER_TRAINING_MODULE=pkg.mod:func`.

Our adapters take the `TrainingJob` as their one argument and reuse its blocks. A function
that takes no argument (written for the SageMaker toolkit) is called as it is.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import Any

from container_runtime.errors import ConfigError
from container_runtime.job.training_job import TrainingJob

SOURCE = "environment variable SAGEMAKER_TRAINING_MODULE"


def load_framework_entry(spec: str) -> Callable[..., Any]:
    module_name, _, function_name = spec.partition(":")
    if not module_name or not all(part.isidentifier() for part in module_name.split(".")):
        raise ConfigError(SOURCE, f"expected 'package.module:function', got {spec!r}")
    function_name = function_name or "main"
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        raise ConfigError(SOURCE, f"cannot import {module_name!r}: {error}") from error
    function: object = getattr(module, function_name, None)
    if not callable(function):
        raise ConfigError(SOURCE, f"module {module_name!r} has no function {function_name!r}")
    return function


def run_framework(job: TrainingJob, spec: str) -> None:
    function = load_framework_entry(spec)
    required = [
        parameter
        for parameter in inspect.signature(function).parameters.values()
        if parameter.default is inspect.Parameter.empty
        and parameter.kind in (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    ]
    if required:
        function(job)
    else:
        function()
