"""People in a room, and the roster that merges what presence, broadcasts and the members table say of them.

The roster is keyed by user id, not by socket: one person in two notebooks is one member, online if any of their
connections is; a leave followed quickly by a re-join (a reconnect, a re-run cell) does not flicker (DESIGN.md §5.3).
Pure logic: it is fed events with their times and asked for the members at a time.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["Member", "Roster", "color_for"]

Status = Literal["online", "away", "offline"]
LAB_KEYS = ("notebook", "presenting")

PALETTE = (
    "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#42d4f4",
    "#f032e6", "#469990", "#9a6324", "#800000", "#808000", "#000075",
)  # fmt: skip


def color_for(user_id: str) -> str:
    """A stable colour per user, the same in every kernel and browser."""
    return PALETTE[int(hashlib.sha256(user_id.encode()).hexdigest(), 16) % len(PALETTE)]


@dataclass(frozen=True)
class Member:
    id: str
    name: str
    color: str
    status: Status = "offline"
    last_seen: datetime | None = None
    cell: str | None = None
    activity: str | None = None
    role: str | None = None
    notebook: str | None = None  # the id of the room notebook they are in (a JupyterLab tells it)
    presenting: str | None = None  # since when they present (ISO time), asking the room to follow them

    def __repr__(self) -> str:
        return f"<Member {self.name!r} {self.status}>"


@dataclass
class _Entry:
    member: Member
    connections: int = 0
    left_at: datetime | None = None
    activity_at: datetime | None = None


def _carried(metas: list[dict[str, Any]], keys: tuple[str, ...]) -> dict[str, Any]:
    """Each key as the latest meta that carries it says (None if none does): only a JupyterLab's connection
    tells the notebook and presenting, and the same user's kernel, tracked later, must not erase them."""
    values: dict[str, Any] = {}
    for key in keys:
        carrying = [meta for meta in metas if key in meta]
        latest = max(carrying, key=lambda meta: str(meta.get("updated_at", "")), default={})
        values[key] = latest.get(key)
    return values


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Roster:
    """Everyone known in a room: present now, or a member who was seen before."""

    def __init__(self, leave_grace: float = 3.0) -> None:
        self.leave_grace = leave_grace
        self._entries: dict[str, _Entry] = {}

    def _entry(self, user_id: str, name: str | None = None, color: str | None = None) -> _Entry:
        entry = self._entries.get(user_id)
        if entry is None:
            entry = _Entry(Member(user_id, name or "someone", color or color_for(user_id)))
            self._entries[user_id] = entry
        return entry

    def apply_member_row(self, row: dict[str, Any]) -> None:
        """A row of ``nbrt_room_members``: name, colour and the persisted ``last_seen``."""
        user_id = str(row["user_id"])
        entry = self._entry(user_id, row.get("name"), row.get("color"))
        last_seen = _parse_time(row.get("last_seen"))
        member = entry.member
        entry.member = replace(
            member,
            name=row.get("name") or member.name,
            color=row.get("color") or member.color,
            last_seen=max(filter(None, (member.last_seen, last_seen)), default=None),
            role=row.get("role") or member.role,
        )

    def remove_member(self, user_id: str) -> None:
        """Their membership row is gone (they left or were removed): they are no longer listed."""
        self._entries.pop(user_id, None)

    def apply_presence(self, state: dict[str, list[dict[str, Any]]], now: datetime) -> None:
        """The full presence state (key = user id, one meta per connection)."""
        present = set()
        for user_id, metas in state.items():
            if not metas:
                continue
            present.add(user_id)
            latest = max(metas, key=lambda meta: str(meta.get("updated_at", "")))
            entry = self._entry(user_id, latest.get("name"), latest.get("color"))
            statuses = {meta.get("status", "online") for meta in metas}
            status: Status = "online" if "online" in statuses or not statuses <= {"away"} else "away"
            updated_at = _parse_time(latest.get("updated_at"))
            fresher = entry.activity_at is None or (updated_at is not None and updated_at >= entry.activity_at)
            location = {key: latest.get(key) for key in ("cell", "activity")}
            location.update(_carried(metas, LAB_KEYS))
            entry.member = replace(
                entry.member,
                name=latest.get("name") or entry.member.name,
                color=latest.get("color") or entry.member.color,
                status=status,
                last_seen=now,
                **(location if fresher else {}),
            )
            if fresher:
                entry.activity_at = updated_at
            entry.connections = len(metas)
            entry.left_at = None
        for user_id, entry in self._entries.items():
            if user_id not in present and entry.connections:
                entry.connections = 0
                entry.left_at = now
                entry.member = replace(entry.member, last_seen=now)

    def apply_activity(self, user_id: str, update: dict[str, Any], at: datetime) -> None:
        """A fast-path activity broadcast: cell, activity and status between throttled presence updates."""
        entry = self._entries.get(user_id)
        if entry is None or not entry.connections:
            return
        if entry.activity_at is not None and at < entry.activity_at:
            return
        changes: dict[str, Any] = {key: update[key] for key in ("cell", "activity", *LAB_KEYS) if key in update}
        if update.get("status") in ("online", "away"):
            changes["status"] = update["status"]
        entry.member = replace(entry.member, **changes)
        entry.activity_at = at

    def members(self, now: datetime) -> list[Member]:
        """Online, then away (by name), then offline (latest first); leavers within the grace keep their status."""
        result = []
        for entry in list(self._entries.values()):  # the loop thread may add members meanwhile
            member = entry.member
            gone = entry.connections == 0 and (
                entry.left_at is None or (now - entry.left_at).total_seconds() >= self.leave_grace
            )
            if gone and member.status != "offline":
                member = replace(member, status="offline", cell=None, activity=None, notebook=None, presenting=None)
            result.append(member)
        order = {"online": 0, "away": 1, "offline": 2}

        def recency(member: Member) -> float:
            # people here are listed by name; those who left, most recently seen first
            seen = member.last_seen
            return -seen.timestamp() if member.status == "offline" and seen is not None else 0.0

        result.sort(key=lambda m: (order[m.status], recency(m), m.name.casefold()))
        return result

    def pending_leaves(self, now: datetime) -> float | None:
        """Seconds until the next leaver's grace ends (to schedule the change notification), if any."""
        waits = [
            self.leave_grace - (now - entry.left_at).total_seconds()
            for entry in self._entries.values()
            if entry.connections == 0
            and entry.left_at is not None
            and (now - entry.left_at).total_seconds() < self.leave_grace
        ]
        return max(0.0, min(waits)) if waits else None
