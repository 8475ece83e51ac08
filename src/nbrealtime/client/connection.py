"""A supervised realtime channel: join, notice drops, rejoin with backoff, refresh the token, catch up.

Channels share their process's socket for the backend and user (``client/socket.py``); each (re)join builds a fresh
official channel from a :class:`ChannelSpec`, and a dead socket is replaced by a fresh one, so no state of a broken
socket survives into the next (DESIGN.md §5.1–5.2). After every successful subscribe the ``on_subscribed`` hook
runs: re-track presence, catch-up reads.  Hosted Supabase loses change events
committed in the first moments after SUBSCRIBED (realtime-js #525, ``docs/compat-hosted.md``), after that first
catch-up read too, so ``on_settled`` (a second catch-up read) runs again :data:`SETTLE_SECONDS` later, once those
events can no longer go missing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from realtime import AsyncRealtimeChannel, AsyncRealtimeClient, RealtimeSubscribeStates

from nbrealtime.client.session import AuthSession
from nbrealtime.client.socket import SharedSocket, shared_socket
from nbrealtime.client.state import ConnectionState, StateMachine

__all__ = ["AckTimeout", "ChannelSpec", "NotConnected", "SupervisedChannel", "backoff_delay", "envelope"]

log = logging.getLogger("nbrealtime.client")

JOIN_TIMEOUT = 10
TOKEN_CHECK_SECONDS = 30
OFFLINE_AFTER_ATTEMPTS = 3
SETTLE_SECONDS = 2.0
"""How long after SUBSCRIBED hosted Supabase may still drop change events; then ``on_settled`` reads again."""


class AckTimeout(TimeoutError):
    """The server did not acknowledge a message in time."""


class NotConnected(ConnectionError):
    """The room is not connected right now (it is reconnecting, offline or closed)."""


@dataclass
class PostgresBinding:
    event: str
    table: str
    callback: Callable[[dict[str, Any]], None]
    filter: str | None = None


@dataclass
class ChannelSpec:
    """Everything needed to build the channel again after a drop. Callbacks must not raise (they are guarded)."""

    topic: str
    config: dict[str, Any]
    on_broadcast: Callable[[dict[str, Any]], None] | None = None
    on_presence: Callable[[dict[str, list[dict[str, Any]]]], None] | None = None
    postgres: list[PostgresBinding] = field(default_factory=list)


def envelope(sender: str, data: Any) -> dict[str, Any]:
    """Every nbrealtime broadcast says who sent it (the server relays it as it is)."""
    return {"sender": sender, "data": data}


_jitter = random.Random()  # its own state: the process's global random (a test's, a user's) is none of ours


def backoff_delay(attempt: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with full jitter: many clients reconnecting at once spread out."""
    return _jitter.uniform(0, min(cap, base * 2**attempt))


def _guard(callback: Callable[..., None]) -> Callable[..., None]:
    """A raising callback would end the realtime client's receive loop (PROTOCOL.md P17): log instead."""

    def guarded(*args: Any) -> None:
        try:
            callback(*args)
        except Exception:
            log.exception("nbrealtime callback failed")

    return guarded


class SupervisedChannel:
    def __init__(
        self,
        realtime_url: str,
        api_key: str,
        auth: AuthSession,
        spec: ChannelSpec,
        *,
        on_state: Callable[[ConnectionState], None] | None = None,
        on_subscribed: Callable[[], Awaitable[None]] | None = None,
        on_settled: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.realtime_url = realtime_url
        self.api_key = api_key
        self.auth = auth
        self.spec = spec
        self.machine = StateMachine(on_state)
        self.on_subscribed = on_subscribed
        self.socket: SharedSocket = shared_socket(realtime_url, api_key, auth.user_id)
        self.on_settled = on_settled
        self._settle: asyncio.Task[None] | None = None
        self._client: AsyncRealtimeClient | None = None
        self._generation = 0
        self._channel: AsyncRealtimeChannel | None = None
        self._broken = asyncio.Event()
        self._connected = asyncio.Event()
        self._supervisor: asyncio.Task[None] | None = None

    @property
    def state(self) -> ConnectionState:
        return self.machine.state

    # ------------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Connect the first time (raising if that fails), then supervise in the background."""
        try:
            await self._connect()
        except BaseException:
            await self._leave()
            await self.socket.release()
            raise
        self._supervisor = asyncio.create_task(self._supervise(), name=f"nbrealtime:{self.spec.topic}")

    async def close(self) -> None:
        self.machine.move(ConnectionState.CLOSED)
        self._connected.clear()
        self._cancel_settle()
        if self._supervisor is not None:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
            self._supervisor = None
            await self._leave()
            await self.socket.release()

    async def wait_connected(self, timeout: float) -> None:
        await asyncio.wait_for(self._connected.wait(), timeout)

    def simulate_drop(self) -> None:
        """Treat the connection as broken now (what a dead socket does); used by fault tests and `reconnect()`."""
        self._mark_broken()

    # ------------------------------------------------------------------ sending

    async def send(self, event: str, payload: dict[str, Any], timeout: float) -> None:
        """Broadcast and wait for the server's acknowledgement (first for the connection, while it reconnects)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        if self.state != ConnectionState.CLOSED and not self._connected.is_set():
            try:
                await asyncio.wait_for(self._connected.wait(), timeout)
            except TimeoutError:
                raise AckTimeout(f"not connected within {timeout} s (the room is {self.state})") from None
        timeout = max(0.0, deadline - loop.time())
        channel = self._require_channel()
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def settle(exception: BaseException | None) -> None:
            if not done.done():
                if exception is None:
                    done.set_result(None)
                else:
                    done.set_exception(exception)

        push = await channel.push("broadcast", {"type": "broadcast", "event": event, "payload": payload})
        push.receive("ok", lambda _response: settle(None))
        push.receive("error", lambda response: settle(RuntimeError(f"the server refused the message: {response}")))
        push.receive("timeout", lambda *_: settle(AckTimeout(f"no acknowledgement for {event!r} within 10 s")))
        try:
            await asyncio.wait_for(done, timeout)
        except TimeoutError:
            raise AckTimeout(f"no acknowledgement for {event!r} within {timeout} s") from None

    async def post(self, event: str, payload: dict[str, Any]) -> None:
        """Broadcast without waiting for the acknowledgement (keystrokes: the next sync repairs any loss)."""
        await self._require_channel().push("broadcast", {"type": "broadcast", "event": event, "payload": payload})

    async def track(self, state: dict[str, Any]) -> None:
        await self._require_channel().track(state)

    def presence_state(self) -> dict[str, list[dict[str, Any]]]:
        return dict(self._channel.presence_state()) if self._channel is not None else {}

    def _require_channel(self) -> AsyncRealtimeChannel:
        if self._channel is None or self.state != ConnectionState.CONNECTED:
            raise NotConnected(f"the room is {self.state}; try again when it is connected")
        return self._channel

    # ------------------------------------------------------------------ internals

    def _mark_broken(self, *_: Any) -> None:
        self._connected.clear()
        self._broken.set()

    def _on_subscribe_state(self, state: RealtimeSubscribeStates, error: Exception | None) -> None:
        if state != RealtimeSubscribeStates.SUBSCRIBED:
            log.info("channel %s: %s %s", self.spec.topic, state, error or "")
            self._mark_broken()

    def _build_channel(self, client: AsyncRealtimeClient) -> AsyncRealtimeChannel:
        spec = self.spec
        channel = client.channel(spec.topic, {"config": spec.config})
        if spec.on_broadcast is not None:
            channel.on_broadcast("*", _guard(spec.on_broadcast))
        if spec.on_presence is not None:
            on_presence = _guard(spec.on_presence)
            channel.on_presence_sync(lambda: on_presence(channel.presence_state()))
        for binding in spec.postgres:
            channel.on_postgres_changes(
                binding.event, _guard(binding.callback), table=binding.table, filter=binding.filter
            )
        return channel

    async def _connect(self) -> None:
        token = await self.auth.ensure_fresh()
        client, self._generation = await self.socket.connected(token)
        self._client = client
        stale = client.channels.get(f"realtime:{self.spec.topic}")
        if stale is not None:  # an earlier join of this topic (ours, or a closed room's) must not answer for this one
            await self.socket.leave(stale)
        channel = self._build_channel(client)
        self._channel = channel
        states: list[RealtimeSubscribeStates] = []
        await asyncio.wait_for(channel.subscribe(lambda state, error: states.append(state)), JOIN_TIMEOUT + 2)
        if not states or states[-1] != RealtimeSubscribeStates.SUBSCRIBED:
            raise ConnectionError(f"could not join {self.spec.topic}: {states[-1] if states else 'no reply'}")
        channel.subscribe_callback = self._on_subscribe_state
        self._broken.clear()
        self.machine.move(ConnectionState.CONNECTED)
        self._connected.set()
        if self.on_subscribed is not None:
            await self.on_subscribed()
        if self.on_settled is not None:
            self._cancel_settle()
            self._settle = asyncio.create_task(self._settled(channel), name=f"nbrealtime settle:{self.spec.topic}")

    async def _settled(self, channel: AsyncRealtimeChannel) -> None:
        """The second catch-up read, if the channel that subscribed is still the live one."""
        await asyncio.sleep(SETTLE_SECONDS)
        if self._channel is channel and self.state == ConnectionState.CONNECTED and self.on_settled is not None:
            try:
                await self.on_settled()
            except Exception:  # a failed read is retried by the next (re)subscribe; never kill the loop
                log.exception("catch-up read after %s settled failed", self.spec.topic)

    def _cancel_settle(self) -> None:
        if self._settle is not None:
            self._settle.cancel()
            self._settle = None

    async def _leave(self) -> None:
        """Take this channel off the shared socket; a dead socket is replaced for everyone (once)."""
        client, channel, self._client, self._channel = self._client, self._channel, None, None
        if channel is not None:
            await self.socket.leave(channel)
        if client is not None and not client.is_connected:
            await self.socket.broken(self._generation)

    async def _supervise(self) -> None:
        while self.state != ConnectionState.CLOSED:
            check_in = min(TOKEN_CHECK_SECONDS, max(0.5, self.auth.refresh_due_in()))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._broken.wait(), check_in)
            if self._broken.is_set() or (self._client is not None and not self._client.is_connected):
                await self._reconnect()
            else:
                await self._refresh_token()

    async def _refresh_token(self) -> None:
        """Keep the channel's claims valid: a fresh token is pushed to the joined channel as ``access_token``."""
        if self.auth.refresh_due_in() > 0 or self._client is None:
            return
        try:
            token = await self.auth.ensure_fresh()
        except Exception:
            log.exception("token refresh failed")
            self.machine.move(ConnectionState.TOKEN_EXPIRED)
            self._mark_broken()
            return
        await self._client.set_auth(token)

    async def _reconnect(self) -> None:
        self._connected.clear()
        if self.state == ConnectionState.CONNECTED:
            self.machine.move(ConnectionState.RECONNECTING)
        attempt = 0
        while self.state != ConnectionState.CLOSED:
            await self._leave()
            await asyncio.sleep(backoff_delay(attempt))
            try:
                await self._connect()
                return
            except Exception as error:
                attempt += 1
                log.info("reconnect attempt %d to %s failed: %s", attempt, self.spec.topic, error)
                if attempt >= OFFLINE_AFTER_ATTEMPTS and self.state != ConnectionState.CLOSED:
                    self.machine.move(ConnectionState.OFFLINE)
