"""The write record that travels from the optimistic view through the outbox to the server, and view changes.

A :class:`Write` is mutable on purpose: the user's handle keeps pointing at the same object while the store moves it
from pending to confirmed or failed, or rewrites it after a conflict (new id, new payload, same place in the queue).
"""

from __future__ import annotations

from dataclasses import KW_ONLY, dataclass, field
from typing import Any, get_args
from uuid import uuid4

from .clock import Timestamp
from .types import Op, Row, RowKind, Status

__all__ = ["OPS", "RowChange", "Write"]

OPS: tuple[str, ...] = get_args(Op)


@dataclass(eq=False)
class Write:
    """One local write.

    ``values`` is the whole row for insert and upsert (key included), the changed fields for update, empty for delete.
    ``id`` is also the idempotency key the server deduplicates retries by. ``base_version`` is the server version the
    write expects to replace (None: the row should not exist yet), and ``base`` the row as the view showed it when the
    write was made — the common ancestor for a three-way merge. The store fills both in ``apply_local``.
    """

    op: Op
    key: Any
    values: Row
    stamp: Timestamp
    _: KW_ONLY
    id: str = field(default_factory=lambda: str(uuid4()))
    base_version: int | None = None
    base: Row | None = None
    status: Status = "pending"
    error: str | None = None

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise ValueError(f"unknown write op {self.op!r}; use one of {OPS}")
        if not isinstance(self.values, dict):
            raise TypeError(f"write values must be a dict, not {type(self.values).__name__}")

    def __repr__(self) -> str:
        return f"Write({self.op} {self.key!r} {self.status} id={self.id} stamp={self.stamp.encode()})"

    def apply_to(self, row: Row | None) -> Row | None:
        """The row after this write: a new dict (rows are never mutated, views share them); None if no row."""
        if self.op == "insert":
            return dict(self.values)
        if self.op == "upsert":
            return {**(row or {}), **self.values}
        if self.op == "update":
            return None if row is None else {**row, **self.values}
        return None

    def to_record(self, table: str, created: float) -> dict[str, Any]:
        """The JSON-able record the outbox persists (``created`` in seconds since the epoch)."""
        return {
            "id": self.id,
            "table": table,
            "key": self.key,
            "op": self.op,
            "payload": {"values": self.values, "base": self.base},
            "stamp": self.stamp.encode(),
            "base_version": self.base_version,
            "created": created,
        }

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> Write:
        """The pending write an outbox record holds, for re-laying it after a restart."""
        payload = record.get("payload") or {}
        return cls(
            record["op"],
            record["key"],
            dict(payload.get("values") or {}),
            Timestamp.decode(record["stamp"]),
            id=record["id"],
            base_version=record.get("base_version"),
            base=payload.get("base"),
        )


@dataclass(frozen=True)
class RowChange:
    """What the optimistic view did to one row — the argument of ``on_insert/on_update/on_delete/on_change``."""

    kind: RowKind
    key: Any
    old: Row | None
    new: Row | None
