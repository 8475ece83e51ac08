"""Helpers for the data API tests: user tokens minted with the server's secret, clients and raw HTTP."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import jwt
from supabase import AsyncClient, AsyncClientOptions, acreate_client

from nbrealtime.launcher import ServerProcess

__all__ = ["ALICE", "BOB", "api_client", "headers", "mint"]

ALICE = "0a11ce00-0000-4000-8000-00000000000a"
BOB = "0b0b0000-0000-4000-8000-00000000000b"


def mint(server: ServerProcess, sub: str | None = None, *, role: str = "authenticated", lifetime: int = 3600) -> str:
    """An access token as the auth service would issue it, signed with the server's secret."""
    secret = json.loads((server.data_dir / "keys.json").read_text())["jwt_secret"]
    claims = {"role": role, "aud": "authenticated", "exp": int(time.time()) + lifetime, "sub": sub or str(uuid.uuid4())}
    return jwt.encode(claims, secret, algorithm="HS256")


def headers(server: ServerProcess, token: str | None = None) -> dict[str, str]:
    """What supabase-py sends: the anon key as ``apiKey`` and a bearer token (the user's, or the key)."""
    return {
        "apiKey": server.anon_key,
        "Authorization": f"Bearer {token or server.anon_key}",
        "Accept-Profile": "public",
        "Content-Profile": "public",
    }


@asynccontextmanager
async def api_client(
    server: ServerProcess, token: str | None = None, *, service: bool = False
) -> AsyncIterator[AsyncClient]:
    """The official async client as anon, as a user (``token``) or as service_role."""
    key = server.service_role_key if service else server.anon_key
    options = AsyncClientOptions(headers={"Authorization": f"Bearer {token}"}) if token else AsyncClientOptions()
    client = await acreate_client(server.url, key, options=options)
    try:
        yield client
    finally:
        await client.postgrest.aclose()
        await client.auth.close()


def http(server: ServerProcess, token: str | None = None) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/rest/v1", headers=headers(server, token))
