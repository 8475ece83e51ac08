"""One realtime websocket: decode frames, route them to channels, enforce the per-connection limits.

Bad input is answered, never fatal to the server: a frame that cannot be parsed closes only its own socket (as
Phoenix does), an unknown event or topic gets an error reply, and other clients never notice.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from starlette.websockets import WebSocket, WebSocketDisconnect

from nbrealtime.server.config import Limits
from nbrealtime.server.realtime.hub import ChannelMember, Hub
from nbrealtime.server.realtime.protocol import Frame, ProtocolError, decode, encode
from nbrealtime.server.tokens import Claims, TokenError, verify_token

__all__ = ["ChangeFeedPort", "ChannelAccess", "Connection", "RealtimeServices", "binding_id"]

log = logging.getLogger("nbrealtime.server.realtime")

SEND_QUEUE_LIMIT = 10_000
CLOSE_INVALID_PAYLOAD = 1007
CLOSE_TRY_AGAIN_LATER = 1013


class ChangeFeedPort(Protocol):
    """What a channel needs from the change feed: validate and register a member's postgres_changes bindings."""

    def subscribe(self, member: ChannelMember) -> list[str]:
        """Register ``member.bindings``; return error messages (empty when all bindings are valid)."""
        ...

    def member_left(self, member: ChannelMember) -> None: ...


@dataclass(frozen=True)
class ChannelAccess:
    """What a caller may do on a private channel: join and hear it (``receive``), broadcast and track (``send``)."""

    receive: bool
    send: bool


@dataclass
class RealtimeServices:
    hub: Hub
    jwt_secret: str
    limits: Limits
    changes: ChangeFeedPort
    channel_access: Callable[[Claims, str], ChannelAccess]
    connection_count: int = 0

    def recheck_private(self, topics: Iterable[str]) -> None:
        """Membership changed: re-decide every private channel of ``topics`` now, closing those that may no longer
        receive (as Realtime does on a token refresh) and updating who may send."""
        for topic in topics:
            for member in list(self.hub.members(f"realtime:{topic}", True)):
                member.connection.reauthorize(member, member.claims)


def binding_id(binding: dict[str, Any]) -> int:
    """A deterministic, non-zero id below 2**27 for a postgres_changes binding, as Realtime's ``phash2``."""
    digest = zlib.crc32(orjson.dumps(binding, option=orjson.OPT_SORT_KEYS)) % ((1 << 27) - 1)
    return digest + 1


def _flag(value: Any, default: bool = False) -> bool:
    """Realtime accepts booleans and the strings "true"/"false" in any case."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false"):
        return value.lower() == "true"
    return default


class Connection:
    def __init__(self, websocket: WebSocket, services: RealtimeServices, vsn: str, claims: Claims) -> None:
        self.websocket = websocket
        self.services = services
        self.vsn = vsn
        self.claims = claims
        self.channels: dict[str, ChannelMember] = {}
        self._outbox: deque[str | bytes] = deque()
        self._wake_writer = asyncio.Event()
        self._recent: deque[float] = deque()
        self._presence_calls: dict[str, deque[float]] = {}
        self._expiry_timers: dict[str, asyncio.TimerHandle] = {}
        self._closing: tuple[int, str] | None = None
        self._abandoned = False
        self._tasks: tuple[asyncio.Task[Any] | None, ...] = ()

    # ------------------------------------------------------------------ sending

    def send(self, frame: Frame) -> None:
        self.send_encoded(encode(frame, self.vsn))

    def send_encoded(self, data: str | bytes) -> None:
        if self._closing is not None:
            return
        if len(self._outbox) >= SEND_QUEUE_LIMIT:
            log.warning("dropping a realtime connection that does not read its messages")
            self.close(CLOSE_TRY_AGAIN_LATER, "slow consumer: too many unsent messages")
            self._abandon()
            return
        self._outbox.append(data)
        self._wake_writer.set()

    def close(self, code: int, reason: str) -> None:
        """Stop this connection after what is already queued has been sent."""
        if self._closing is None:
            self._closing = (code, reason)
            self._wake_writer.set()

    async def _write(self) -> None:
        while True:
            await self._wake_writer.wait()
            self._wake_writer.clear()
            while self._outbox:
                data = self._outbox.popleft()
                if isinstance(data, bytes):
                    await self.websocket.send_bytes(data)
                else:
                    await self.websocket.send_text(data)
            if self._closing is not None:
                code, reason = self._closing
                await self.websocket.close(code, reason)
                return

    # ------------------------------------------------------------------ receiving

    async def run(self) -> None:
        writer = asyncio.create_task(self._write())
        self._tasks = (asyncio.current_task(), writer)
        try:
            while self._closing is None:
                message = await self.websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                data = message.get("text")
                if data is None:
                    data = message.get("bytes")
                if data is not None:
                    self.handle(data)
        except WebSocketDisconnect:
            pass
        except asyncio.CancelledError:
            if not self._abandoned:
                raise
        finally:
            self._leave_all()
            self.close(1000, "")
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await asyncio.wait_for(writer, timeout=5)
            writer.cancel()

    def _leave_all(self) -> None:
        for member in list(self.channels.values()):
            self.services.hub.leave(member)
        self.channels.clear()
        # A token-expiry timer holds its channel and so this whole connection until the token expires (an hour):
        # every dropped connection used to stay in memory that long (the soak's server grew with each cut).
        for timer in self._expiry_timers.values():
            timer.cancel()
        self._expiry_timers.clear()

    def _abandon(self) -> None:
        """A client that reads nothing (frozen, or gone without a FIN) cannot even take a close frame: stop reading
        and writing for it now, so its channels and presence are released without waiting for TCP keepalive."""
        self._abandoned = True
        for task in self._tasks:
            if task is not None and not task.done():
                task.cancel()

    def handle(self, data: str | bytes) -> None:
        """Handle one incoming frame."""
        try:
            frame = decode(data, self.vsn)
        except ProtocolError as error:
            log.info("closing a realtime connection after a malformed frame: %s", error)
            self.close(CLOSE_INVALID_PAYLOAD, f"malformed frame: {error}"[:120])
            return
        if not frame.event:
            self._reply_error(frame, "missing event")
            return
        if frame.topic == "phoenix":
            if frame.event == "heartbeat":
                self.send(Frame("phoenix", "phx_reply", {"status": "ok", "response": {}}, ref=frame.ref))
            else:
                self._reply_error(frame, "unmatched topic")
            return
        if frame.event == "phx_join":
            self._join(frame)
            return
        member = self.channels.get(frame.topic)
        if member is None:
            self._reply_error(frame, "unmatched topic")
            return
        if not self._within_rate(member, frame):
            return
        handler = {
            "broadcast": self._broadcast,
            "presence": self._presence,
            "phx_leave": self._leave,
            "access_token": self._access_token,
        }.get(frame.event)
        if handler is None:
            member.reply(frame.ref, "error", {"reason": f"unknown event {frame.event!r}"})
            return
        handler(member, frame)

    def _reply_error(self, frame: Frame, reason: str) -> None:
        self.send(
            Frame(
                frame.topic,
                "phx_reply",
                {"status": "error", "response": {"reason": reason}},
                frame.ref,
                frame.join_ref,
            )
        )

    def _within_rate(self, member: ChannelMember, frame: Frame) -> bool:
        now = time.monotonic()
        recent = self._recent
        while recent and now - recent[0] >= 1.0:
            recent.popleft()
        recent.append(now)
        if len(recent) <= self.services.limits.messages_per_second:
            return True
        self._shut_channel(member, "Too many messages per second")
        return False

    def _shut_channel(self, member: ChannelMember, message: str) -> None:
        """Close one channel with a system error, as Realtime does when a channel breaks a limit."""
        member.push(
            "system",
            {"channel": member.subtopic, "extension": "system", "message": message, "status": "error"},
        )
        member.push("phx_close", {}, ref=member.join_ref)
        self._remove(member)

    def _watch_expiry(self, member: ChannelMember) -> None:
        """Shut the channel when its token expires, unless a fresh one arrives first (``access_token``), as
        Supabase Realtime does: a client that stops refreshing stops receiving."""
        timer = self._expiry_timers.pop(member.topic, None)
        if timer is not None:
            timer.cancel()
        if member.claims.exp is None:
            return
        delay = max(0.0, member.claims.exp - time.time())
        self._expiry_timers[member.topic] = asyncio.get_running_loop().call_later(delay, self._check_expiry, member)

    def _check_expiry(self, member: ChannelMember) -> None:
        if self.channels.get(member.topic) is not member or member.claims.exp is None:
            return
        now = time.time()
        if member.claims.exp > now:  # the loop's clock fired a little early
            self._watch_expiry(member)
            return
        self.expire(member, int(now - member.claims.exp))

    def expire(self, member: ChannelMember, seconds_ago: int) -> None:
        """The member's token expired: Realtime shuts such a channel down rather than serve stale claims."""
        self._shut_channel(member, f"Token has expired {seconds_ago} seconds ago")

    def _remove(self, member: ChannelMember) -> None:
        if self.channels.get(member.topic) is member:
            del self.channels[member.topic]
            timer = self._expiry_timers.pop(member.topic, None)
            if timer is not None:
                timer.cancel()
        self._presence_calls.pop(member.topic, None)
        self.services.hub.leave(member)

    # ------------------------------------------------------------------ events

    def _join(self, frame: Frame) -> None:
        services = self.services
        join_ref = frame.join_ref or frame.ref
        payload = frame.payload if isinstance(frame.payload, dict) else {}
        config = payload.get("config") if isinstance(payload.get("config"), dict) else {}
        if not frame.topic.startswith("realtime:"):
            self._reply_error(frame, "unmatched topic")
            return
        subtopic = frame.topic.removeprefix("realtime:")
        if not subtopic:
            self._reply_error(frame, "TopicNameRequired: You must provide a topic name")
            return
        previous = self.channels.get(frame.topic)
        if previous is None and len(self.channels) >= services.limits.channels_per_connection:
            self._reply_error(frame, "ChannelRateLimitReached: Too many channels")
            return
        try:
            claims = self._claims_for(payload.get("access_token"))
        except TokenError as error:
            self._reply_error(frame, str(error))
            return
        private = _flag(config.get("private"))
        access = services.channel_access(claims, subtopic) if private else ChannelAccess(receive=True, send=True)
        if not access.receive:
            self._reply_error(
                frame,
                f"Unauthorized: You do not have permissions to read from this Channel topic: {subtopic}",
            )
            return
        if previous is not None:
            previous.push("phx_close", {}, ref=previous.join_ref)
            self._remove(previous)
        broadcast = config.get("broadcast") if isinstance(config.get("broadcast"), dict) else {}
        presence = config.get("presence") if isinstance(config.get("presence"), dict) else {}
        bindings = [b for b in config.get("postgres_changes") or [] if isinstance(b, dict)]
        member = ChannelMember(
            connection=self,
            topic=frame.topic,
            join_ref=join_ref,
            claims=claims,
            broadcast_self=_flag(broadcast.get("self")),
            broadcast_ack=_flag(broadcast.get("ack")),
            presence_enabled=_flag(presence.get("enabled"), default=True),
            private=private,
            bindings=[{**binding, "id": binding_id(binding)} for binding in bindings],
            can_send=access.send,
        )
        if isinstance(presence.get("key"), str) and presence["key"]:
            member.presence_key = presence["key"]
        self.channels[frame.topic] = member
        services.hub.join(member)
        self._watch_expiry(member)
        member.reply(frame.ref, "ok", {"postgres_changes": member.bindings})
        if member.bindings:
            errors = services.changes.subscribe(member)
            status, message = ("error", errors[0]) if errors else ("ok", "Subscribed to PostgreSQL")
            member.push(
                "system",
                {"channel": subtopic, "extension": "postgres_changes", "message": message, "status": status},
            )
        if member.presence_enabled:
            member.push("presence_state", services.hub.presence_state(frame.topic, private))

    def _claims_for(self, access_token: Any) -> Claims:
        """Claims from the join's ``access_token``, else the socket's API key (first JS joins carry none)."""
        if isinstance(access_token, str) and access_token and not access_token.startswith("sb_"):
            return verify_token(access_token, self.services.jwt_secret)
        return self.claims

    def _leave(self, member: ChannelMember, frame: Frame) -> None:
        member.reply(frame.ref, "ok", {})
        member.push("phx_close", {}, ref=member.join_ref)
        self._remove(member)

    def _broadcast(self, member: ChannelMember, frame: Frame) -> None:
        payload = frame.payload
        if not isinstance(payload, dict) or not isinstance(payload.get("event"), str):
            member.reply(frame.ref, "error", {"reason": "a broadcast needs an event name"})
            return
        size = len(frame.binary) if frame.binary is not None else len(orjson.dumps(payload.get("payload")))
        if size > self.services.limits.max_payload_bytes:
            member.reply(frame.ref, "error", {"error": "payload_size_exceeded"})
            return
        message = {"type": "broadcast", "event": payload["event"], "payload": payload.get("payload")}
        if "meta" in payload:
            message["meta"] = payload["meta"]
        if member.can_send:  # a private channel's denied send is dropped silently, still acknowledged (Realtime)
            self.services.hub.broadcast(Frame(member.topic, "broadcast", message, binary=frame.binary), sender=member)
        if member.broadcast_ack:
            member.reply(frame.ref, "ok", {})

    def _presence(self, member: ChannelMember, frame: Frame) -> None:
        payload = frame.payload if isinstance(frame.payload, dict) else {}
        event = str(payload.get("event", "")).lower()
        if not self._presence_allowed(member):
            self._shut_channel(member, "Client presence rate limit exceeded")
            return
        if not member.can_send:  # denied like a broadcast: silently, the client's push still answered
            member.reply(frame.ref, "ok", {})
            return
        if event == "track":
            state = payload.get("payload")
            if not isinstance(state, dict):
                member.reply(frame.ref, "error", {"reason": "Presence track payload must be a map"})
                return
            if len(orjson.dumps(state)) > self.services.limits.max_payload_bytes:
                self._shut_channel(member, "Track message size exceeded")
                return
            self.services.hub.track(member, state)
        elif event == "untrack":
            self.services.hub.untrack(member)
        else:
            member.reply(frame.ref, "error", {"reason": f"unknown presence event {event!r}"})
            return
        member.reply(frame.ref, "ok", {})

    def _presence_allowed(self, member: ChannelMember) -> bool:
        limits = self.services.limits
        calls = self._presence_calls.setdefault(member.topic, deque())
        now = time.monotonic()
        while calls and now - calls[0] >= limits.presence_window_seconds:
            calls.popleft()
        calls.append(now)
        return len(calls) <= limits.presence_calls

    def _access_token(self, member: ChannelMember, frame: Frame) -> None:
        token = frame.payload.get("access_token") if isinstance(frame.payload, dict) else None
        if not isinstance(token, str) or not token or token.startswith("sb_"):
            return
        try:
            claims = verify_token(token, self.services.jwt_secret)
        except TokenError as error:
            self._shut_channel(member, error.message)
            return
        self.reauthorize(member, claims)

    def reauthorize(self, member: ChannelMember, claims: Claims) -> None:
        """Decide a joined channel's permissions again (new token, changed membership); shut it if it may no longer
        receive."""
        if member.private:
            access = self.services.channel_access(claims, member.subtopic)
            if not access.receive:
                self._shut_channel(
                    member, f"You no longer have permission to read from this Channel topic: {member.subtopic}"
                )
                return
            if member.can_send and not access.send:
                self.services.hub.untrack(member)  # a viewer's presence is theirs to keep only while they may send
            member.can_send = access.send
        member.claims = claims  # the change feed reads claims per change, so they apply from the next one
        self._watch_expiry(member)
