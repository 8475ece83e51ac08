"""The embedded server as one ASGI application: auth, data API and realtime on one port."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nbrealtime import schema
from nbrealtime.server import auth, constraints, filters, rest, rooms, storage
from nbrealtime.server.changes import ChangeFeed
from nbrealtime.server.config import ServerConfig
from nbrealtime.server.database import Database
from nbrealtime.server.keys import ProjectKeys
from nbrealtime.server.realtime import endpoint as realtime_endpoint
from nbrealtime.server.realtime.connection import ChannelAccess, RealtimeServices
from nbrealtime.server.realtime.hub import Hub
from nbrealtime.server.tokens import ANON, Claims

__all__ = ["ServerContext", "create_app"]


@dataclass
class ServerContext:
    """Everything the route handlers share; lives on ``app.state.context``."""

    config: ServerConfig
    keys: ProjectKeys
    database: Database
    tables: dict[str, schema.Table]
    hub: Hub
    changes: ChangeFeed
    realtime: RealtimeServices

    def is_room_member(self, user_id: str | None, room: str) -> str | None:
        return is_room_member(self.database, user_id, room)

    def channel_access(self, claims: Claims, topic: str) -> ChannelAccess:
        return channel_access(self.database, claims, topic)

    def membership_changed(self, rooms: Iterable[str]) -> None:
        """A role changed or a member left: re-decide the rooms' private channels now (a removed member's are shut)."""
        self.realtime.recheck_private(rule.topic(room) for room in rooms for rule in schema.CHANNEL_RULES)


def is_room_member(database: Database, user_id: str | None, room: str) -> str | None:
    """``room:COLUMN`` policies and private channels: the user's role from the members table (None: not a member)."""
    if user_id is None:
        return None
    row = database.connection.execute(
        f"SELECT role FROM {schema.ROOM_MEMBERS_TABLE} WHERE room = ? AND user_id = ?", (room, user_id)
    ).fetchone()
    return None if row is None else str(row[0])


def channel_access(database: Database, claims: Claims, topic: str) -> ChannelAccess:
    """Who may receive and send on a private channel (``schema.CHANNEL_RULES``); service_role may do both.

    A private topic that is no room's channel is closed to everybody else, as it is on Supabase once the migration
    is the only source of ``realtime.messages`` policies."""
    if claims.bypasses_policies:
        return ChannelAccess(receive=True, send=True)
    found = schema.topic_room(topic)
    if found is None or claims.role == ANON:
        return ChannelAccess(receive=False, send=False)
    room, rule = found
    role = is_room_member(database, claims.user_id, room)
    return ChannelAccess(receive=role in schema.roles_for(rule.receive), send=role in schema.roles_for(rule.send))


def build_context(config: ServerConfig, keys: ProjectKeys) -> ServerContext:
    database = Database(config.database_path)
    auth.ensure_tables(database)
    tables = schema.builtin_tables()
    if config.schema_file is not None:
        tables.update({table.name: table for table in schema.load_schema_file(config.schema_file)})
    upgrade = rooms.predates_roles(database.connection)
    storage.create_tables(database.connection, tables.values())
    if upgrade:
        rooms.upgrade_to_roles(database.connection)
    constraints.seed(database.connection, tables.values())
    database.on_connect(filters.register_sql_functions)
    hub = Hub()
    changes = ChangeFeed(tables, lambda user_id, room: is_room_member(database, user_id, room), config.compat)
    hub.listeners.append(changes)
    context = ServerContext(config, keys, database, tables, hub, changes, realtime=None)  # type: ignore[arg-type]
    context.realtime = RealtimeServices(hub, keys.jwt_secret, config.limits, changes, context.channel_access)
    return context


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "nbrealtime"})


# Browser views reach the server from JupyterLab's origin (DESIGN.md §3 "Browser link"), as supabase-js does a hosted
# project: any origin, no cookies. Every request still needs the API key and the user's token; rules apply as ever.
BROWSER_ACCESS = Middleware(
    CORSMiddleware,
    allow_origins=["*"],
    allow_methods=["*"],
    allow_headers=["*"],
    expose_headers=["Content-Range", "Content-Location", "Preference-Applied"],
    max_age=3600,
)


def create_app(config: ServerConfig, keys: ProjectKeys) -> Starlette:
    context = build_context(config, keys)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        context.database.close()

    app = Starlette(
        routes=[Route("/health", health), *auth.routes, *rest.routes, *realtime_endpoint.routes],
        middleware=[BROWSER_ACCESS],
        lifespan=lifespan,
    )
    app.state.context = context
    return app
