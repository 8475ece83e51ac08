"""Conflict strategies: what to write when my write was based on a row the server has since changed.

A conflict compares three rows: ``base`` (the row as I saw it when I wrote; None for an insert), ``mine`` (the row my
write wants; None when I delete) and ``theirs`` (the row on the server now; None when it was deleted there). Rows here
are *data*: the store strips its bookkeeping columns (version, stamp, write id) before building a conflict.

Rules (the same for every strategy that decides by itself):

* **Who is newer** is decided by HLC stamps only, never by arrival order or wall time (:func:`winner`).
  A server row without a stamp (a table with no stamp column) counts as older than my write: my write reaches the
  server after it. A server-side *deletion* without a stamp (Postgres change events do not say when a row was
  deleted) counts as newer than my write: we never resurrect a row someone deleted without evidence that we are later.
* **lww** takes the whole row of the newer side (a deletion is a row too: the newer of delete/update wins).
* **merge** merges field by field against ``base``: a field changed on one side only keeps that change; changed on
  both sides to different values, the newer side wins that field; a field missing from a side counts as a value
  ("absent"), so adding and removing fields merge like changes. Deletion against an update is row-level, exactly as
  in lww: an update of a row deleted on the server resurrects it only if my stamp is newer, and my delete of a row
  they updated only wins if my stamp is newer.
* The stamp of a resolved row is the larger of the two stamps: the row is "as if" both writes happened in stamp
  order, so a later write of mine that is still queued behind this one is not beaten by its own predecessor.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from uuid import uuid4

from .clock import Timestamp
from .types import Row

__all__ = [
    "Conflict",
    "Deferred",
    "Resolved",
    "Strategy",
    "resolve",
    "resolve_lww",
    "resolve_merge",
    "strategy",
    "winner",
]

_ABSENT: Any = object()


@dataclass(frozen=True)
class Conflict:
    """One conflict, as shown in the manual-resolution list.

    ``fields`` names the fields the two sides really disagree on: with a common base, those changed on *both* sides
    to different values (one-sided changes merge by themselves); for an insert against an insert, or anything against
    a deletion, every field whose value differs between mine and theirs.
    """

    key: Any
    base: Row | None
    mine: Row | None
    theirs: Row | None
    mine_stamp: Timestamp
    theirs_stamp: Timestamp | None
    write_id: str | None = None
    id: str = field(default_factory=lambda: str(uuid4()))
    fields: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", _disputed(self.base, self.mine, self.theirs))


@dataclass(frozen=True)
class Resolved:
    """The row to write (None: the row should not exist) and the stamp it carries."""

    row: Row | None
    stamp: Timestamp


@dataclass(frozen=True)
class Deferred:
    """The strategy leaves this conflict to a person (manual strategy)."""

    conflict: Conflict


def winner(conflict: Conflict) -> Literal["mine", "theirs"]:
    """The newer side by HLC (see the module notes for rows or deletions without a stamp)."""
    if conflict.theirs_stamp is None:
        return "theirs" if conflict.theirs is None else "mine"
    return "mine" if conflict.mine_stamp > conflict.theirs_stamp else "theirs"


def resolve_lww(conflict: Conflict) -> Row | None:
    """The whole row of the newer side (None if that side deleted it)."""
    return _copy(conflict.mine if winner(conflict) == "mine" else conflict.theirs)


def resolve_merge(conflict: Conflict) -> Row | None:
    """Field-level three-way merge against the base; deletions are decided row-level, like lww."""
    mine, theirs = conflict.mine, conflict.theirs
    if mine is None or theirs is None:
        return resolve_lww(conflict)
    base = conflict.base or {}
    newer = mine if winner(conflict) == "mine" else theirs
    merged: Row = {}
    for name in _union(theirs, mine, base):
        ours, other, before = mine.get(name, _ABSENT), theirs.get(name, _ABSENT), base.get(name, _ABSENT)
        if ours in (other, before):
            value = other
        elif other == before:
            value = ours
        else:
            value = newer.get(name, _ABSENT)
        if value is not _ABSENT:
            merged[name] = value
    return merged


def resolve(conflict: Conflict, choice: Literal["mine", "theirs"] | Row | None) -> Resolved:
    """Settle a conflict by hand: keep "mine", keep "theirs", write the given row, or None to delete the row."""
    if choice == "mine":
        row = _copy(conflict.mine)
    elif choice == "theirs":
        row = _copy(conflict.theirs)
    elif choice is None or isinstance(choice, dict):
        row = _copy(choice)
    else:
        raise ValueError(f'resolve a conflict with "mine", "theirs", a row dict or None, not {choice!r}')
    return Resolved(row, _resolved_stamp(conflict))


@dataclass(frozen=True)
class Strategy:
    """A table's conflict policy behind one interface; ``decide`` None means manual."""

    name: str
    decide: Callable[[Conflict], Row | None] | None

    def resolve(self, conflict: Conflict) -> Resolved | Deferred:
        """Resolve now, or defer to a person."""
        if self.decide is None:
            return Deferred(conflict)
        row = self.decide(conflict)
        if row is not None and not isinstance(row, dict):
            raise TypeError(f"conflict strategy {self.name!r} returned {type(row).__name__}, expected a dict or None")
        return Resolved(row, _resolved_stamp(conflict))


_NAMED: dict[str, Callable[[Conflict], Row | None] | None] = {
    "lww": resolve_lww,
    "merge": resolve_merge,
    "manual": None,
}


def strategy(spec: str | Callable[[Row | None, Row | None, Row | None], Row | None] | Strategy) -> Strategy:
    """``"lww"``, ``"merge"``, ``"manual"``, or a callable ``(base, mine, theirs) -> row | None``."""
    if isinstance(spec, Strategy):
        return spec
    if isinstance(spec, str):
        if spec not in _NAMED:
            raise ValueError(f"unknown conflict strategy {spec!r}; use one of {sorted(_NAMED)} or a callable")
        return Strategy(spec, _NAMED[spec])
    if callable(spec):
        custom = spec
        name = getattr(custom, "__name__", "custom")

        def decide(conflict: Conflict) -> Row | None:
            return custom(_copy(conflict.base), _copy(conflict.mine), _copy(conflict.theirs))

        return Strategy(name, decide)
    raise TypeError(f"a conflict strategy is a name or a callable, not {type(spec).__name__}")


def _resolved_stamp(conflict: Conflict) -> Timestamp:
    if conflict.theirs_stamp is None:
        return conflict.mine_stamp
    return max(conflict.mine_stamp, conflict.theirs_stamp)


def _disputed(base: Row | None, mine: Row | None, theirs: Row | None) -> tuple[str, ...]:
    if base is None or mine is None or theirs is None:
        ours, other = mine or {}, theirs or {}
        return tuple(name for name in _union(ours, other) if ours.get(name, _ABSENT) != other.get(name, _ABSENT))
    disputed = []
    for name in _union(mine, theirs, base):
        ours, other, before = mine.get(name, _ABSENT), theirs.get(name, _ABSENT), base.get(name, _ABSENT)
        if ours != other and ours != before and other != before:
            disputed.append(name)
    return tuple(disputed)


def _union(*rows: Row) -> list[str]:
    """Field names of all rows, in first-seen order (so merged rows keep the server's column order)."""
    return list(dict.fromkeys(name for row in rows for name in row))


def _copy(row: Row | None) -> Row | None:
    return None if row is None else dict(row)
