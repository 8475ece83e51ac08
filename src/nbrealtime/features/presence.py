"""``room.presence``: who is here, what they are doing, and this user's own status.

Presence metas are the durable snapshot (and what late joiners see), but Supabase allows only a few presence calls
per client per 30 s, so tracking is throttled; every update also goes out at once as a small ``nbrt:presence``
broadcast that the others apply on top.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from nbrealtime.client.connection import NotConnected, SupervisedChannel, envelope
from nbrealtime.client.loop import BackgroundLoop
from nbrealtime.features.callbacks import CallbackList
from nbrealtime.features.members import Member, Roster
from nbrealtime.features.view import HasView

__all__ = ["Presence"]

log = logging.getLogger("nbrealtime.presence")

ACTIVITY_EVENT = "nbrt:presence"
TRACK_INTERVAL = 6.5  # 5 presence calls per 30 s is Supabase's per-client limit


def _now() -> datetime:
    return datetime.now(UTC)


class Presence(HasView):
    def __init__(
        self,
        loop: BackgroundLoop,
        me: Member,
        *,
        idle_after: float = 300.0,
        leave_grace: float = 3.0,
        track_interval: float = TRACK_INTERVAL,
    ) -> None:
        self._loop = loop
        self.me = me
        self.idle_after = idle_after
        self.track_interval = track_interval
        self.roster = Roster(leave_grace)
        self.channel: SupervisedChannel | None = None
        self._state: dict[str, Any] = {"name": me.name, "color": me.color, "status": "online", "cell": None,
                                       "activity": None}  # fmt: skip
        self._auto_away = False
        self._last_activity = time.monotonic()
        self._last_track = 0.0
        self._track_task: asyncio.Task[None] | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._grace_timer: asyncio.TimerHandle | None = None
        self._callbacks: CallbackList[list[Member]] = CallbackList("presence")
        self.room_object: Any = None  # the Room this is the presence of (set by it): its views follow its status

    def __repr__(self) -> str:
        online = sum(member.status != "offline" for member in self.members)
        return f"<Presence {online} here, {len(self.members)} known>"

    # ------------------------------------------------------------------ public API

    @property
    def members(self) -> list[Member]:
        return self.roster.members(_now())

    @property
    def status(self) -> str:
        return self._state["status"]

    def on_change(self, callback: Callable[[list[Member]], None]) -> Callable[[list[Member]], None]:
        """Call ``callback(members)`` whenever someone arrives, leaves or changes status, cell or activity."""
        return self._callbacks.add(callback)

    def off_change(self, callback: Callable[[list[Member]], None]) -> None:
        """Stop calling a callback given to :meth:`on_change`."""
        self._callbacks.remove(callback)

    def wait_for(self, name: str, *, status: str = "online", timeout: float = 30.0) -> Member:
        """Block until the member called ``name`` has ``status``; return them (handy in scripts/demos)."""
        reached = threading.Event()

        def check(members: list[Member]) -> None:
            if any(m.name == name and m.status == status for m in members):
                reached.set()

        self._callbacks.add(check)
        try:
            check(self.members)
            if not reached.wait(timeout):
                raise TimeoutError(f"{name!r} was not {status} within {timeout} s")
        finally:
            self._callbacks.remove(check)
        return next(m for m in self.members if m.name == name)

    def update(self, *, status: str | None = None, cell: str | None = None, activity: str | None = None) -> None:
        """Tell the room what you are doing; ``status`` is "online" or "away" ("offline" is leaving)."""
        self._loop.run(self._update(status, cell, activity), timeout=10)

    async def aupdate(self, *, status: str | None = None, cell: str | None = None, activity: str | None = None) -> None:
        await self._loop.bridge(self._update(status, cell, activity))

    async def _update(self, status: str | None, cell: str | None, activity: str | None) -> None:
        if status not in (None, "online", "away"):
            raise ValueError('status must be "online" or "away"')
        changes: dict[str, Any] = {"status": status, "cell": cell, "activity": activity}
        await self._update_all({key: value for key, value in changes.items() if value is not None})

    async def aset_where(self, *, notebook: str | None, cell: str | None, activity: str | None) -> None:
        """Where this user is, as their JupyterLab says: a room notebook's id, a cell and what they do there (all
        three replaced; None clears)."""
        await self._loop.bridge(self._update_all({"notebook": notebook, "cell": cell, "activity": activity}))

    async def aset_presenting(self, on: bool) -> None:
        """Start (or stop) asking the room to follow this user; leaving the room stops it too."""
        since = (self._state.get("presenting") or _now().isoformat()) if on else None
        await self._loop.bridge(self._update_all({"presenting": since}))

    async def _update_all(self, changes: dict[str, Any]) -> None:
        self._last_activity = time.monotonic()
        if self._auto_away:
            self._auto_away = False
            changes = {"status": "online", **changes}
        await self._publish(changes)

    def report_browser_activity(self, away: bool) -> None:
        """The browser says the user is idle or the tab hidden (away), or back (online). Does not block."""
        if away and self._state["status"] == "online":
            self._auto_away = True
            self._loop.submit(self._publish({"status": "away"}))
        elif not away:
            self._loop.call_soon(self.touch)

    def touch(self) -> None:
        """Something happened here (a message sent, a notification): an idle user becomes online again."""
        self._last_activity = time.monotonic()
        if self._auto_away:
            self._auto_away = False
            self._loop.loop.create_task(self._publish({"status": "online"}))

    # ------------------------------------------------------------------ wiring (background loop)

    def attach(self, channel: SupervisedChannel) -> None:
        self.channel = channel
        self._last_activity = time.monotonic()
        self._check_idle()

    async def on_subscribed(self) -> None:
        """(Re)joined: the server forgot our meta with the old socket, so track again now."""
        await self._track()

    def on_presence_state(self, state: dict[str, list[dict[str, Any]]]) -> None:
        self.roster.apply_presence(state, _now())
        self._changed()
        wait = self.roster.pending_leaves(_now())
        if wait is not None:
            if self._grace_timer is not None:
                self._grace_timer.cancel()
            self._grace_timer = self._loop.loop.call_later(wait + 0.05, self._changed)

    def on_activity(self, sender: str, payload: dict[str, Any]) -> None:
        at = _now()
        with contextlib.suppress(ValueError, TypeError):
            at = datetime.fromisoformat(payload["updated_at"])
        if sender == self.me.id:
            self._adopt_status(payload.get("status"))
        self.roster.apply_activity(sender, payload, at)
        self._changed()

    def _adopt_status(self, status: Any) -> None:
        """This user's browser said it went away or came back, straight to the room (it does not wait for a busy
        kernel): make it this kernel's status too, so the next track carries it."""
        if status not in ("online", "away") or status == self._state["status"]:
            return
        self._auto_away = status == "away"
        if status == "online":
            self._last_activity = time.monotonic()
        self._state.update(status=status, updated_at=_now().isoformat())
        self._schedule_track()

    def on_member_row(self, row: dict[str, Any]) -> None:
        self.roster.apply_member_row(row)
        self._changed()

    def on_member_removed(self, user_id: str) -> None:
        self.roster.remove_member(user_id)
        self._changed()

    def close(self) -> None:
        for timer in (self._idle_timer, self._grace_timer):
            if timer is not None:
                timer.cancel()
        if self._track_task is not None:
            self._track_task.cancel()

    # ------------------------------------------------------------------ internals

    def _changed(self) -> None:
        self._callbacks.fire(self.members)

    async def _publish(self, changes: dict[str, Any]) -> None:
        self._state.update(changes, updated_at=_now().isoformat())
        self.roster.apply_activity(self.me.id, self._state, _now())
        self._changed()
        if self.channel is None:
            return
        with contextlib.suppress(NotConnected):
            await self.channel.send(ACTIVITY_EVENT, envelope(self.me.id, dict(self._state)), timeout=10)
        self._schedule_track()

    def _schedule_track(self) -> None:
        if self._track_task is not None and not self._track_task.done():
            return  # the pending track will carry the latest state
        delay = max(0.0, self._last_track + self.track_interval - time.monotonic())
        self._track_task = self._loop.loop.create_task(self._track(delay))

    async def _track(self, delay: float = 0.0) -> None:
        if delay:
            await asyncio.sleep(delay)
        if self.channel is None:
            return
        self._last_track = time.monotonic()
        with contextlib.suppress(NotConnected):  # tracked again on the next subscribe
            await self.channel.track({**self._state, "user_id": self.me.id})

    def _check_idle(self) -> None:
        """Online → away after ``idle_after`` seconds without activity here (re-checked periodically)."""
        idle = time.monotonic() - self._last_activity
        if self._state["status"] == "online" and idle >= self.idle_after:
            self._auto_away = True
            self._loop.loop.create_task(self._publish({"status": "away"}))
        interval = max(0.5, min(30.0, self.idle_after / 4))
        self._idle_timer = self._loop.loop.call_later(interval, self._check_idle)
