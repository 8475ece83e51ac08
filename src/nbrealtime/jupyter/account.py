"""The Jupyter server's user on the backend, signed in without joining a room: who "me" is for the lab API, which
rooms this user is a member of, and a channel that says when that changes (docs/lab-api.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from nbrealtime.client.backend import Backend, resolve_backend
from nbrealtime.client.connection import ChannelSpec, PostgresBinding, SupervisedChannel
from nbrealtime.client.identity import IdentityStore
from nbrealtime.client.loop import BackgroundLoop, background_loop
from nbrealtime.client.session import AuthSession
from nbrealtime.discovery import default_data_dir
from nbrealtime.features.members import color_for
from nbrealtime.features.room import user_name
from nbrealtime.schema import ROOM_MEMBERS_TABLE

__all__ = ["Account"]


class Account:
    """The Jupyter server's user on the backend, signed in without joining a room: for ``me`` and the rooms list."""

    def __init__(self, loop: BackgroundLoop, backend: Backend, auth: AuthSession) -> None:
        self.loop = loop
        self.backend = backend
        self.auth = auth

    @classmethod
    async def open(cls) -> Account:
        backend = await asyncio.to_thread(resolve_backend)
        name = user_name(None)
        store = IdentityStore(backend.data_dir or default_data_dir(), backend.url, name)
        loop = background_loop()
        auth = await loop.bridge(AuthSession.open(backend.url, backend.key, store, name))
        return cls(loop, backend, auth)

    def me(self) -> dict[str, Any]:
        user_id = self.auth.user_id
        return {"user_id": user_id, "name": self.auth.name, "color": color_for(user_id), "backend": self.backend.url}

    async def memberships(self, room: str | None = None) -> list[dict[str, Any]]:
        """``[{room, role}]`` from this user's membership rows (all rooms, or the one named)."""

        async def read() -> list[dict[str, Any]]:
            await self.auth.ensure_fresh()
            query = self.auth.client.table(ROOM_MEMBERS_TABLE).select("room,role").eq("user_id", self.auth.user_id)
            if room is not None:
                query = query.eq("room", room)
            return list((await query.order("room").execute()).data)

        return await self.loop.bridge(read())

    async def watch_memberships(self, changed: Callable[[], None]) -> None:
        """Call ``changed()`` whenever one of this user's membership rows changes (joined, removed, a role), and after
        every (re)subscribe and once it settled (hosted Supabase drops events at first), as changes may have been
        missed meanwhile: one channel, kept while the server runs."""
        user_id = self.auth.user_id

        async def subscribed() -> None:
            changed()

        binding = PostgresBinding("*", ROOM_MEMBERS_TABLE, lambda _payload: changed(), f"user_id=eq.{user_id}")
        spec = ChannelSpec(
            topic=f"nbrt-lab:{user_id}",
            config={"broadcast": {"self": False}, "presence": {"enabled": False}, "private": False},
            postgres=[binding],
        )
        channel = SupervisedChannel(
            f"{self.backend.url}/realtime/v1",
            self.backend.key,
            self.auth,
            spec,
            on_subscribed=subscribed,
            on_settled=subscribed,
        )
        await self.loop.bridge(channel.start())
