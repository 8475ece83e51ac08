"""Notification toasts, the unread badge and the list with mark-as-read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import traitlets

from nbrealtime.features.notifications import Notification
from nbrealtime.widgets._base import STATIC, NbrtWidget

if TYPE_CHECKING:
    from nbrealtime.features.notifications import Notifications

__all__ = ["NotificationsView", "NotificationsWidget"]


def notification_json(notification: Notification, pending: bool) -> dict[str, Any]:
    return {
        "id": notification.id,
        "title": notification.title,
        "message": notification.message,
        "kind": notification.kind,
        "sender_name": notification.sender,
        "created_at": notification.created_at.isoformat(),
        "read": notification.read,
        "pending": pending,
    }


class NotificationsView(traitlets.HasTraits):
    """The traits and browser actions of the bell and its toasts (alone, or as part of the room panel)."""

    notifications = traitlets.List([]).tag(sync=True)
    unread_count = traitlets.Int(0).tag(sync=True)
    toast_seconds = traitlets.Float(6.0).tag(sync=True)

    def show_notifications(self, notifications: Notifications) -> None:
        self._notifications = notifications
        self._show_items(notifications.all)
        notifications.on_change(self._show_items)
        self.watch_room(notifications.room_object)

    def _show_items(self, items: list[Notification]) -> None:
        pending = self._notifications.pending_reads
        self.notifications = [notification_json(item, item.id in pending) for item in items]
        self.unread_count = sum(not item.read for item in items)

    def msg_mark_read(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        if isinstance(message.get("id"), str):
            self._notifications.mark_read_soon(message["id"])

    def msg_mark_all_read(self, message: dict[str, Any], buffers: list[bytes]) -> None:
        for item in self._notifications.unread:
            self._notifications.mark_read_soon(item.id)


class NotificationsWidget(NotificationsView, NbrtWidget):
    _esm = STATIC / "notifications.js"

    def __init__(self, notifications: Notifications) -> None:
        super().__init__()
        self.show_notifications(notifications)
