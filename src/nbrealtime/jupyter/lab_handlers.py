"""The lab API's REST handlers and websocket (docs/lab-api.md): thin, everything is done by
:class:`~nbrealtime.jupyter.lab_state.LabState`.

Errors are one sentence of JSON (``{"message": …}``): a refusal of the room's rules is 403, an unknown room, member,
invite or notification 404, a bad body 400 — and anything unexpected a 500 without a traceback.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Awaitable, Mapping
from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized, ws_authenticated
from jupyter_server.base.handlers import APIHandler, JupyterHandler
from jupyter_server.base.websocket import WebSocketMixin
from jupyter_server.utils import url_path_join
from tornado import web, websocket

if TYPE_CHECKING:
    from nbrealtime.jupyter.lab_state import Frame, LabState

__all__ = ["lab_routes"]

log = logging.getLogger("nbrealtime.jupyter")

LAB_SETTING = "nbrealtime_lab"
ROOM = r"(?P<room>[\w.-]{1,64})"
ID = r"(?P<ident>[^/]{1,128})"


def lab_state_for(serverapp: Any) -> LabState:
    """This Jupyter server's one :class:`LabState` (made on first use, on the server's loop)."""
    settings = serverapp.web_app.settings
    if settings.get(LAB_SETTING) is None:
        from nbrealtime.jupyter import BRIDGE_SETTING
        from nbrealtime.jupyter.identity import server_id
        from nbrealtime.jupyter.lab_state import LabState
        from nbrealtime.jupyter.rooms import rooms_for

        def paths(room: str) -> Mapping[str, str]:
            bridge = settings.get(BRIDGE_SETTING)
            return bridge.paths(room) if bridge is not None else {}

        settings[LAB_SETTING] = LabState(rooms_for(serverapp), paths, server=server_id(serverapp))
    return settings[LAB_SETTING]


def error_message(error: BaseException) -> tuple[int, str]:
    """The HTTP status and sentence for an error the lab API's work raised."""
    from nbrealtime.errors import UserError

    message = str(error.args[0]) if error.args else type(error).__name__
    if isinstance(error, PermissionError):  # the room's rules (AccessDenied): not a member, not in this role
        return 403, message
    if isinstance(error, LookupError | FileNotFoundError):
        return 404, message
    if isinstance(error, ValueError | TypeError):
        return 400, message
    if isinstance(error, UserError | ConnectionError | TimeoutError):
        return 503, f"nbrealtime could not reach its backend: {message}"
    log.exception("nbrealtime: the lab API failed", exc_info=error)
    return 500, f"nbrealtime failed: {message}"


class JsonHandler(APIHandler):
    """The lab and notebook APIs' base: JSON in and out, every error one sentence with its status."""

    auth_resource = "contents"

    @property
    def lab(self) -> LabState:
        return lab_state_for(self.serverapp)

    def body(self) -> dict[str, Any]:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError:
            raise web.HTTPError(400, "the body is not JSON") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the body is a JSON object")
        return body

    async def answer(self, work: Awaitable[Any], status: int = 200) -> None:
        try:
            result = await work
        except Exception as error:
            code, message = error_message(error)
            raise web.HTTPError(code, message) from None
        if result is None:
            self.set_status(204)
            self.finish()
            return
        self.set_status(status)
        self.finish(json.dumps(result))


class MeHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.lab.me())


class RoomsHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def get(self) -> None:
        await self.answer(self.lab.rooms())


class JoinHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def post(self) -> None:
        await self.answer(self.lab.join(self.body().get("invite")))


class RoomHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def get(self, room: str) -> None:
        await self.answer(self.lab.room_state(room))


class InvitesHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def post(self, room: str) -> None:
        body = self.body()
        await self.answer(
            self.lab.create_invite(room, body.get("role", "editor"), body.get("expires_in"), body.get("uses")), 201
        )


class InviteHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def delete(self, room: str, ident: str) -> None:
        await self.answer(self.lab.revoke_invite(room, ident))


class MemberHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def put(self, room: str, ident: str) -> None:
        await self.answer(self.lab.set_role(room, ident, self.body().get("role")))

    @web.authenticated
    @authorized
    async def delete(self, room: str, ident: str) -> None:
        await self.answer(self.lab.remove_member(room, ident))


class SettingsHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def put(self, room: str) -> None:
        body = self.body()
        await self.answer(self.lab.settings(room, body.get("open_to"), body.get("role")))


class NotificationsHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def get(self, room: str) -> None:
        await self.answer(self.lab.notifications(room))


class ReadHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def post(self, room: str) -> None:
        body = self.body()
        await self.answer(self.lab.mark_read(room, body.get("ids"), body.get("all")))


class WhereHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def post(self, room: str) -> None:
        body = self.body()
        await self.answer(self.lab.where(room, body.get("path"), body.get("cell"), body.get("activity")))


class PresentHandler(JsonHandler):
    @web.authenticated
    @authorized
    async def post(self, room: str) -> None:
        await self.answer(self.lab.present(room, self.body().get("on")))


class LiveSocket(WebSocketMixin, JupyterHandler, websocket.WebSocketHandler):  # type: ignore[misc]
    """``/nbrealtime/api/live``: the hello, every room's state and its changes; ``where`` and ``ping`` frames in."""

    auth_resource = "contents"

    @ws_authenticated
    async def get(self, *args: Any, **kwargs: Any) -> None:
        result = super().get(*args, **kwargs)
        if result is not None:
            await result

    @property
    def lab(self) -> LabState:
        return lab_state_for(self.serverapp)

    async def open(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        super().open(*args, **kwargs)
        try:
            await self.lab.subscribe(self.send)
        except Exception as error:
            self.send({"type": "error", "message": error_message(error)[1]})

    def send(self, frame: Frame) -> None:
        with contextlib.suppress(websocket.WebSocketClosedError):  # on_close unsubscribes
            self.write_message(json.dumps(frame))

    async def on_message(self, message: str | bytes) -> None:
        try:
            frame = json.loads(message)
        except ValueError:
            frame = None
        if not isinstance(frame, dict) or frame.get("type") not in ("where", "ping"):
            self.send({"type": "error", "message": 'a frame is a JSON object of "type" "where" or "ping"'})
            return
        if frame["type"] == "ping":
            self.send({"type": "pong"})
            return
        room = frame.get("room")
        try:
            if not isinstance(room, str):
                raise ValueError('a "where" frame names its "room"')
            await self.lab.where(room, frame.get("path"), frame.get("cell"), frame.get("activity"))
        except Exception as error:
            self.send({"type": "error", "message": error_message(error)[1]})

    def on_close(self) -> None:
        self.lab.unsubscribe(self.send)


def lab_routes(base_url: str) -> list[tuple[str, type]]:
    api = url_path_join(base_url, "nbrealtime/api")
    rooms = url_path_join(api, "rooms")
    return [
        (url_path_join(api, "me"), MeHandler),
        (url_path_join(api, "live"), LiveSocket),
        (rooms, RoomsHandler),
        (url_path_join(rooms, "join"), JoinHandler),
        (url_path_join(rooms, ROOM), RoomHandler),
        (url_path_join(rooms, ROOM, "invites"), InvitesHandler),
        (url_path_join(rooms, ROOM, "invites", ID), InviteHandler),
        (url_path_join(rooms, ROOM, "members", ID), MemberHandler),
        (url_path_join(rooms, ROOM, "settings"), SettingsHandler),
        (url_path_join(rooms, ROOM, "notifications"), NotificationsHandler),
        (url_path_join(rooms, ROOM, "notifications", "read"), ReadHandler),
        (url_path_join(rooms, ROOM, "where"), WhereHandler),
        (url_path_join(rooms, ROOM, "present"), PresentHandler),
    ]
