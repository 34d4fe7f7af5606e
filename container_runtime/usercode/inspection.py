"""Reading which functions a user's Python file defines, without importing (running) it."""

from __future__ import annotations

import ast
from pathlib import Path

from container_runtime.errors import ConfigError


def top_level_names(source_file: Path) -> frozenset[str]:
    """Names a module binds at top level: functions, assignments and imports."""
    try:
        tree = ast.parse(source_file.read_text(encoding="utf-8"), filename=str(source_file))
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(str(source_file), f"cannot be read: {error}") from error
    except SyntaxError as error:
        raise ConfigError(str(source_file), f"syntax error at line {error.lineno}: {error.msg}") from error
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
        elif isinstance(node, (ast.ImportFrom, ast.Import)):
            names.update((alias.asname or alias.name).split(".")[0] for alias in node.names)
    return frozenset(names)
