"""Topics and their members: joins, leaves, broadcast fan-out and presence.

The hub never awaits a socket: a message is encoded once per serializer and queued on each member's connection,
so one slow client cannot hold up the others.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from nbrealtime.server.realtime.presence import PresenceDiff, TopicPresence
from nbrealtime.server.realtime.protocol import V1, Frame, encode
from nbrealtime.server.tokens import Claims

if TYPE_CHECKING:
    from nbrealtime.server.realtime.connection import Connection

__all__ = ["ChannelMember", "Hub", "MemberListener", "TopicKey"]

TopicKey = tuple[str, bool]
"""(topic, private): as on Supabase, a private channel and a public one of the same name never hear each other."""


@dataclass(eq=False)
class ChannelMember:
    """One channel joined on one connection (a Phoenix channel process)."""

    connection: Connection
    topic: str
    join_ref: str | None
    claims: Claims
    broadcast_self: bool = False
    broadcast_ack: bool = False
    presence_key: str = field(default_factory=lambda: str(uuid.uuid1()))
    presence_enabled: bool = True
    private: bool = False
    bindings: list[dict[str, Any]] = field(default_factory=list)

    can_send: bool = True
    """Broadcast and presence pushes go through (a private channel's send permission, decided at join)."""

    @property
    def subtopic(self) -> str:
        return self.topic.removeprefix("realtime:")

    @property
    def key(self) -> TopicKey:
        return (self.topic, self.private)

    def push(self, event: str, payload: Any, ref: str | None = None) -> None:
        """Send a channel message (carries this join's ``join_ref``, as JS requires: PROTOCOL.md P6)."""
        self.connection.send(Frame(self.topic, event, payload, ref=ref, join_ref=self.join_ref))

    def reply(self, ref: str | None, status: str, response: Any) -> None:
        self.push("phx_reply", {"status": status, "response": response}, ref=ref)


class MemberListener(Protocol):
    """Told when members come and go (the change feed keeps its subscriptions this way)."""

    def member_left(self, member: ChannelMember) -> None: ...


class Hub:
    def __init__(self) -> None:
        self._members: dict[TopicKey, set[ChannelMember]] = {}
        self._presence: dict[TopicKey, TopicPresence] = {}
        self.listeners: list[MemberListener] = []

    def members(self, topic: str, private: bool = False) -> Iterable[ChannelMember]:
        return self._members.get((topic, private), ())

    def topic_count(self) -> int:
        return len(self._members)

    def join(self, member: ChannelMember) -> None:
        self._members.setdefault(member.key, set()).add(member)

    def presence_state(self, topic: str, private: bool = False) -> dict[str, Any]:
        presence = self._presence.get((topic, private))
        return presence.state() if presence else {}

    def leave(self, member: ChannelMember) -> None:
        """Remove ``member``; its presence leaves are broadcast to the rest of the topic."""
        members = self._members.get(member.key)
        if members is None or member not in members:
            return
        members.discard(member)
        self.untrack(member)
        if not members:
            del self._members[member.key]
            self._presence.pop(member.key, None)
        for listener in self.listeners:
            listener.member_left(member)

    def track(self, member: ChannelMember, payload: dict[str, Any]) -> None:
        diff = self._presence.setdefault(member.key, TopicPresence()).track(member, member.presence_key, payload)
        self._send_diff(member.key, diff)

    def untrack(self, member: ChannelMember) -> None:
        presence = self._presence.get(member.key)
        if presence is not None:
            self._send_diff(member.key, presence.untrack(member))

    def _send_diff(self, key: TopicKey, diff: PresenceDiff | None) -> None:
        if diff is not None:
            self.fan_out(Frame(key[0], "presence_diff", diff), self.members(*key))

    def broadcast(self, frame: Frame, sender: ChannelMember | None = None, *, private: bool = False) -> int:
        """Deliver a user broadcast to the topic's members (the sender only if it asked for ``self``); the channel
        kind is the sender's, or ``private`` for messages that arrive over HTTP."""
        kind = sender.private if sender is not None else private
        recipients = [
            member for member in self.members(frame.topic, kind) if member is not sender or member.broadcast_self
        ]
        return self.fan_out(frame, recipients)

    def fan_out(self, frame: Frame, members: Iterable[ChannelMember]) -> int:
        """Queue ``frame`` (a fastlane message: no refs) on each member's connection; encode once per serializer."""
        encoded: dict[str, str | bytes] = {}
        count = 0
        for member in members:
            vsn = member.connection.vsn
            if vsn == V1 and frame.binary is not None:
                continue  # Realtime drops binary-encoded payloads for 1.0.0 subscribers
            if vsn not in encoded:
                encoded[vsn] = encode(frame, vsn)
            member.connection.send_encoded(encoded[vsn])
            count += 1
        return count
