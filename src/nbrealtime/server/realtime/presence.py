"""Presence of one topic: who is tracked under which key, and the diffs that tell everyone (PROTOCOL.md §3).

Each channel member has at most one meta per topic, as a Phoenix channel process does; several members (two tabs,
two kernels of one user) may share a key. Every meta carries a unique ``phx_ref`` — the Python client pops it and
dies if it is missing (PROTOCOL.md P8).
"""

from __future__ import annotations

import base64
import itertools
import os
from collections.abc import Hashable
from typing import Any

__all__ = ["PresenceDiff", "TopicPresence"]

PresenceDiff = dict[str, dict[str, dict[str, list[dict[str, Any]]]]]

_counter = itertools.count(1)
_node = os.urandom(4)


def _new_ref() -> str:
    """An opaque, unique ref shaped like Phoenix.Tracker's (url-safe base64, 16 chars)."""
    return base64.urlsafe_b64encode(_node + next(_counter).to_bytes(8, "big")).decode().rstrip("=")


class TopicPresence:
    """Presence state of one topic."""

    def __init__(self) -> None:
        self._metas: dict[str, dict[Hashable, dict[str, Any]]] = {}
        self._key_of: dict[Hashable, str] = {}

    def __bool__(self) -> bool:
        return bool(self._metas)

    def state(self) -> dict[str, dict[str, list[dict[str, Any]]]]:
        """The full state as ``presence_state`` carries it."""
        return {key: {"metas": list(metas.values())} for key, metas in self._metas.items()}

    def track(self, member: Hashable, key: str, payload: dict[str, Any]) -> PresenceDiff | None:
        """Track or update ``member``'s meta; ``None`` when nothing changed (an identical re-track)."""
        old = self._metas.get(key, {}).get(member)
        if old is not None and {k: v for k, v in old.items() if k not in ("phx_ref", "phx_ref_prev")} == payload:
            return None
        leaves: dict[str, Any] = {}
        previous_key = self._key_of.get(member)
        if previous_key is not None and previous_key != key:
            leaves = self.untrack(member)["leaves"]  # type: ignore[index]
        meta = {**payload, "phx_ref": _new_ref()}
        if old is not None:
            meta["phx_ref_prev"] = old["phx_ref"]
            leaves = {key: {"metas": [old]}}
        self._metas.setdefault(key, {})[member] = meta
        self._key_of[member] = key
        return {"joins": {key: {"metas": [meta]}}, "leaves": leaves}

    def untrack(self, member: Hashable) -> PresenceDiff | None:
        """Remove ``member``'s meta; ``None`` if it had none."""
        key = self._key_of.pop(member, None)
        if key is None:
            return None
        metas = self._metas[key]
        meta = metas.pop(member)
        if not metas:
            del self._metas[key]
        return {"joins": {}, "leaves": {key: {"metas": [meta]}}}
