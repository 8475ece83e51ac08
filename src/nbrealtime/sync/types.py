"""Aliases shared by the sync modules, stated once."""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

__all__ = ["Op", "Row", "RowKind", "Status"]

Row: TypeAlias = dict[str, Any]
"""A row as the table (or collection) has it: column name → JSON-like value."""

Op: TypeAlias = Literal["insert", "update", "upsert", "delete"]
Status: TypeAlias = Literal["pending", "confirmed", "failed"]
RowKind: TypeAlias = Literal["insert", "update", "delete"]
