"""``room.notifications``: notifications addressed to this user in this room, live, with unread counts.

They are rows of ``nbrt_notifications`` (one per recipient), so the row policies decide who reads them; new ones
arrive through ``postgres_changes`` filtered to the recipient, and every (re)subscribe re-reads what may have been
missed, de-duplicated by id.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from nbrealtime.client.loop import BackgroundLoop
from nbrealtime.features.callbacks import CallbackList
from nbrealtime.features.view import HasView

__all__ = ["KINDS", "Notification", "Notifications"]

log = logging.getLogger("nbrealtime.notifications")

TABLE = "nbrt_notifications"
KINDS = ("info", "success", "warning", "error")
BACKLOG = 200


@dataclass(frozen=True)
class Notification:
    id: str
    title: str
    message: str
    kind: str
    sender: str
    sender_id: str
    created_at: datetime
    read: bool = False
    notebook: str | None = None  # the id of the room notebook it is about
    cell: str | None = None  # the id of the cell it is about

    def __repr__(self) -> str:
        state = "read" if self.read else "unread"
        return f"<Notification {self.kind} {self.title!r} from {self.sender} ({state})>"


def _parse(row: dict[str, Any], sender_name: Callable[[str], str]) -> Notification:
    created = datetime.fromisoformat(str(row["created_at"]).replace("Z", "+00:00"))
    return Notification(
        id=str(row["id"]),
        title=str(row["title"]),
        message=str(row.get("message") or ""),
        kind=str(row.get("kind") or "info"),
        sender=sender_name(str(row["sender"])),
        sender_id=str(row["sender"]),
        created_at=created if created.tzinfo else created.replace(tzinfo=UTC),
        read=bool(row.get("read")),
        notebook=row.get("notebook") or None,
        cell=row.get("cell") or None,
    )


class Notifications(HasView):
    def __init__(
        self,
        loop: BackgroundLoop,
        room: str,
        user_id: str,
        sender_name: Callable[[str], str],
        write: Callable[[str, dict[str, Any]], Awaitable[None]],
        on_pending: Callable[[], None] = lambda: None,
    ) -> None:
        self._loop = loop
        self.room = room
        self.user_id = user_id
        self._sender_name = sender_name
        self._write = write
        self._items: dict[str, Notification] = {}
        self._writes: set[asyncio.Task[None]] = set()
        self.pending_reads: set[str] = set()
        self._on_pending = on_pending
        self._on_new: CallbackList[Notification] = CallbackList("notification")
        self._on_change: CallbackList[list[Notification]] = CallbackList("notifications")
        self.room_object: Any = None  # the Room these belong to (set by it): their views follow its status

    def __repr__(self) -> str:
        return f"<Notifications {self.unread_count} unread of {len(self._items)}>"

    # ------------------------------------------------------------------ public API

    @property
    def all(self) -> list[Notification]:
        """Newest first."""
        return sorted(list(self._items.values()), key=lambda n: (n.created_at, n.id), reverse=True)

    @property
    def unread(self) -> list[Notification]:
        return [notification for notification in self.all if not notification.read]

    @property
    def unread_count(self) -> int:
        return sum(not notification.read for notification in self._items.values())

    def on_new(self, callback: Callable[[Notification], None]) -> Callable[[Notification], None]:
        """Call ``callback(notification)`` for each new one, live (not for the backlog loaded on connect)."""
        return self._on_new.add(callback)

    def off_new(self, callback: Callable[[Notification], None]) -> None:
        """Stop calling a callback given to :meth:`on_new`."""
        self._on_new.remove(callback)

    def wait_for(
        self, predicate: Callable[[Notification], bool] = lambda _: True, *, timeout: float = 30.0
    ) -> Notification:
        """Block until an unread notification matching ``predicate`` is here (already, or when it arrives)."""
        arrived: queue.Queue[Notification] = queue.Queue()

        def check(items: list[Notification]) -> None:
            for item in items:
                if not item.read and predicate(item):
                    arrived.put(item)
                    return

        self._on_change.add(check)
        try:
            check(self.all)
            return arrived.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no matching notification within {timeout} s") from None
        finally:
            self._on_change.remove(check)

    def on_change(self, callback: Callable[[list[Notification]], None]) -> Callable[[list[Notification]], None]:
        return self._on_change.add(callback)

    def off_change(self, callback: Callable[[list[Notification]], None]) -> None:
        self._on_change.remove(callback)

    def mark_read(self, notification_id: str) -> None:
        """Mark one read: shown at once, written in the background, restored if the write fails."""
        self._loop.run(self._mark_read(notification_id), timeout=10)

    def mark_read_soon(self, notification_id: str) -> None:
        """Mark read without waiting (from a widget click on the kernel's main thread)."""
        self._loop.submit(self._mark_read(notification_id))

    @property
    def pending_count(self) -> int:
        return len(self.pending_reads)

    def mark_all_read(self) -> None:
        self._loop.run(self._mark_all_read(), timeout=10)

    async def amark_read(self, notification_id: str) -> None:
        await self._loop.bridge(self._mark_read(notification_id))

    async def amark_all_read(self) -> None:
        await self._loop.bridge(self._mark_all_read())

    async def _mark_read(self, notification_id: str) -> None:
        notification = self._items.get(notification_id)
        if notification is None:
            raise KeyError(f"no notification {notification_id!r}")
        if notification.read:
            return
        self._items[notification_id] = replace(notification, read=True)
        self.pending_reads.add(notification_id)
        self._changed()
        self._on_pending()
        task = self._loop.loop.create_task(self._persist_read(notification))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _mark_all_read(self) -> None:
        for notification in self.unread:
            await self._mark_read(notification.id)

    # ------------------------------------------------------------------ wiring (background loop)

    async def flush(self) -> None:
        """Wait for mark-as-read writes still on their way (before the room closes its HTTP client)."""
        if self._writes:
            await asyncio.gather(*self._writes, return_exceptions=True)

    def load(self, rows: list[dict[str, Any]], *, live: bool) -> None:
        """Merge rows read from the table (backlog on connect, or a catch-up read after a reconnect)."""
        for row in sorted(rows, key=lambda r: str(r["created_at"])):
            self._merge(row, live=live)
        self._changed()

    def on_row_change(self, payload: dict[str, Any]) -> None:
        """A ``postgres_changes`` payload for this user's notifications."""
        data = payload.get("data", {})
        record = data.get("record")
        if record and record.get("room") == self.room:
            self._merge(record, live=True)
            self._changed()

    # ------------------------------------------------------------------ internals

    def _merge(self, row: dict[str, Any], *, live: bool) -> None:
        if str(row.get("recipient")) != self.user_id or row.get("room") != self.room:
            return
        notification = _parse(row, self._sender_name)
        known = self._items.get(notification.id)
        if known is not None and known.read and not notification.read:
            notification = replace(notification, read=True)  # our own mark-read is still on its way
        self._items[notification.id] = notification
        if known is None and live:
            self._on_new.fire(notification)

    def _changed(self) -> None:
        self._on_change.fire(self.all)

    async def _persist_read(self, notification: Notification) -> None:
        try:
            await self._write(notification.id, {"read": True})
        except Exception as error:
            log.warning("could not mark %r read (%s); it is unread again", notification.title, error)
            self._items[notification.id] = replace(self._items[notification.id], read=False)
        finally:
            self.pending_reads.discard(notification.id)
            self._changed()
            self._on_pending()
