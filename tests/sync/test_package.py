"""The public surface of ``nbrealtime.sync``: stable names, stdlib-only imports (DESIGN §2)."""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path

import nbrealtime.sync as sync

MODULES = ["clock", "conflicts", "optimistic", "outbox", "types", "writes"]


def test_public_names() -> None:
    assert sorted(sync.__all__) == [
        "ClockDriftError",
        "Conflict",
        "Deferred",
        "Entry",
        "HybridClock",
        "OptimisticStore",
        "Outbox",
        "OutboxError",
        "Resolved",
        "RowChange",
        "Strategy",
        "Timestamp",
        "Write",
        "resolve",
        "resolve_lww",
        "resolve_merge",
        "strategy",
        "winner",
    ]
    for name in sync.__all__:
        assert getattr(sync, name) is not None
    for module in MODULES:
        loaded = importlib.import_module(f"nbrealtime.sync.{module}")
        for name in loaded.__all__:
            assert hasattr(loaded, name), f"{module}.__all__ names missing {name}"


def test_sync_imports_only_the_standard_library_and_itself() -> None:
    root = Path(sync.__file__).parent
    for path in root.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    continue  # relative: the package itself
                names = [node.module or ""]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                assert top in sys.stdlib_module_names or top == "__future__", f"{path.name} imports {name}"
