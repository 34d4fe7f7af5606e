"""Framework plug-ins, found by name through installed entry points.

A framework package registers its training adapter under `container_runtime.training_adapters`
and its serving defaults under `container_runtime.serving_defaults`, both keyed by the
framework's name (`chainer`, `tensorflow`). The core asks for a name
(`SAGEMAKER_SERVING_FRAMEWORK=chainer`) and never names a framework module itself, so a new
framework plugs in by being installed, with no change here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from container_runtime.errors import ConfigError

if TYPE_CHECKING:
    from importlib.metadata import EntryPoint

TRAINING_ADAPTERS = "container_runtime.training_adapters"
SERVING_DEFAULTS = "container_runtime.serving_defaults"


def registered(group: str) -> dict[str, EntryPoint]:
    """Every installed plug-in of `group`, by name. Reading the installed metadata costs a few
    milliseconds, so only the jobs that look a plug-in up import it."""
    from importlib.metadata import entry_points

    return {entry.name: entry for entry in entry_points(group=group)}


def plugin_entry(group: str, name: str, source: str) -> EntryPoint:
    """The entry point registered as `name` in `group`; a ConfigError naming `source` lists the known names."""
    found = registered(group)
    if name not in found:
        known = ", ".join(sorted(found)) or "none installed"
        raise ConfigError(source, f"unknown framework {name!r}; known: {known}")
    return found[name]


def load_plugin(group: str, name: str, source: str) -> Any:
    """The object registered as `name` in `group`, imported now."""
    entry = plugin_entry(group, name, source)
    try:
        return entry.load()
    except ImportError as error:
        raise ConfigError(source, f"framework {name!r} ({entry.value}) cannot be imported: {error}") from error
