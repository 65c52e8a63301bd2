"""Importing a file as a module (test nodes with broken cores, scripts under test)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType


def import_file(path: Path | str, name: str) -> ModuleType:
    """The module in the file at `path`, imported under `name` (not added to sys.modules)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
