"""The embedded server as one ASGI application: auth, data API and realtime on one port."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from nbrealtime import schema
from nbrealtime.server import auth, constraints, filters, rest, storage
from nbrealtime.server.changes import ChangeFeed
from nbrealtime.server.config import ServerConfig
from nbrealtime.server.database import Database
from nbrealtime.server.keys import ProjectKeys
from nbrealtime.server.realtime import endpoint as realtime_endpoint
from nbrealtime.server.realtime.connection import RealtimeServices
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

    def is_room_member(self, user_id: str | None, room: str) -> bool:
        return is_room_member(self.database, user_id, room)

    def can_read_private(self, claims: Claims, topic: str) -> bool:
        """A private channel is a room's: readable by service_role and the room's members."""
        if claims.bypasses_policies:
            return True
        return claims.role != ANON and self.is_room_member(claims.user_id, topic)


def is_room_member(database: Database, user_id: str | None, room: str) -> bool:
    """``room:COLUMN`` policies and private channels: is there a (room, user_id) row in the members table?"""
    if user_id is None:
        return False
    row = database.connection.execute(
        f"SELECT 1 FROM {schema.ROOM_MEMBERS_TABLE} WHERE room = ? AND user_id = ?", (room, user_id)
    ).fetchone()
    return row is not None


def build_context(config: ServerConfig, keys: ProjectKeys) -> ServerContext:
    database = Database(config.database_path)
    auth.ensure_tables(database)
    tables = schema.builtin_tables()
    if config.schema_file is not None:
        tables.update({table.name: table for table in schema.load_schema_file(config.schema_file)})
    storage.create_tables(database.connection, tables.values())
    constraints.seed(database.connection, tables.values())
    database.on_connect(filters.register_sql_functions)
    hub = Hub()
    changes = ChangeFeed(tables, lambda user_id, room: is_room_member(database, user_id, room), config.compat)
    hub.listeners.append(changes)
    context = ServerContext(config, keys, database, tables, hub, changes, realtime=None)  # type: ignore[arg-type]
    context.realtime = RealtimeServices(hub, keys.jwt_secret, config.limits, changes, context.can_read_private)
    return context


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok", "service": "nbrealtime"})


def create_app(config: ServerConfig, keys: ProjectKeys) -> Starlette:
    context = build_context(config, keys)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        context.database.close()

    app = Starlette(
        routes=[Route("/health", health), *auth.routes, *rest.routes, *realtime_endpoint.routes],
        lifespan=lifespan,
    )
    app.state.context = context
    return app
