"""The schema file's foreign keys, checks, lengths, identity columns and seed rows on the embedded server.

``test_pgsql.py`` runs the same refused writes (``tests/relation_cases.py``) on PostgreSQL 15.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from postgrest.exceptions import APIError
from supabase import acreate_client

from nbrealtime.launcher import ServerProcess, ServerStartError, start_server
from tests.realtime_support import Inbox, subscribed
from tests.relation_cases import EMBEDDED_SECRETS, REFUSED_WRITES, SCHEMA_FILE, SECRETS, RefusedWrite
from tests.server.rest_support import ALICE, BOB, api_client, headers, mint


@pytest.fixture(scope="module")
def relations_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("relations"), ["--port", "0", "--schema", str(SCHEMA_FILE)])
    yield process
    process.stop()


def _service(server: ServerProcess) -> httpx.Client:
    return httpx.Client(base_url=f"{server.url}/rest/v1", headers=headers(server, server.service_role_key))


@pytest.mark.parametrize("case", REFUSED_WRITES, ids=[case.name for case in REFUSED_WRITES])
def test_refused_write(relations_server: ServerProcess, case: RefusedWrite) -> None:
    with _service(relations_server) as http:
        response = http.request(case.method, case.path, json=case.body)
        body = response.json()
        assert (body["code"], body["message"]) == (case.code, case.message), body
        assert response.status_code == (409 if case.code == "23503" else 400)
        assert http.get("/posts?select=id&order=id").json() == [{"id": 10}, {"id": 11}]  # nothing was written


def test_seed_rows_are_there_once_across_restarts(start: Callable[..., ServerProcess], tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start("--schema", str(SCHEMA_FILE), data_dir=data_dir)
    with _service(first) as http:
        assert http.get("/authors?order=id").json() == [
            {"id": 1, "name": "Ada", "country": "UK"},
            {"id": 2, "name": "Grace", "country": "US"},
        ]
        http.patch("/authors?id=eq.1", json={"name": "Ada L."}).raise_for_status()
    first.stop()
    second = start("--schema", str(SCHEMA_FILE), data_dir=data_dir)
    with _service(second) as http:
        names = [row["name"] for row in http.get("/authors?order=id").json()]
    assert names == ["Ada L.", "Grace"]  # not re-inserted, not overwritten


async def test_identity_cascade_and_set_null_through_supabase_py(start: Callable[..., ServerProcess]) -> None:
    server = start("--schema", str(SCHEMA_FILE))
    async with api_client(server, service=True) as client:
        created = (await client.table("posts").insert({"author": 1, "title": "New"}).execute()).data[0]
        assert created["id"] == 12  # numbering continues after the seed rows
        author = (await client.table("authors").insert({"name": "Linus", "country": "F"}).execute()).data[0]
        assert (author["id"], author["country"]) == (3, "F ")  # char(2) pads, as PostgreSQL does
        await client.table("authors").delete().eq("id", 2).execute()
        posts = (await client.table("posts").select("id, editor").order("id").execute()).data
        assert posts == [{"id": 10, "editor": None}, {"id": 12, "editor": None}]  # 11 cascaded, 10's editor nulled
        secret = {"id": "s", "owner": "0a11ce00-0000-4000-8000-00000000000a", "post": 10, "note": "n"}
        await client.table("secrets").insert(secret).execute()
        with pytest.raises(APIError) as raised:
            await client.table("posts").delete().eq("id", 10).execute()
        assert raised.value.code == "23503"
        assert raised.value.details == 'Key (id)=(10) is still referenced from table "secrets".'


def test_a_bad_seed_row_stops_the_server_with_one_clear_line(tmp_path: Path) -> None:
    schema = tmp_path / "schema.toml"
    schema.write_text(
        SCHEMA_FILE.read_text(encoding="utf-8").replace('country = "UK"', 'country = "UKX"'), encoding="utf-8"
    )
    with pytest.raises(ServerStartError):
        start_server(tmp_path / "server", ["--port", "0", "--schema", str(schema)], timeout=20)
    log = (tmp_path / "server" / "server.log").read_text(encoding="utf-8")
    assert "value too long for type character(2)" in log
    assert "Traceback" not in log


@pytest.fixture(scope="module")
def with_secrets(relations_server: ServerProcess) -> ServerProcess:
    users = {"A": ALICE, "B": BOB}
    with _service(relations_server) as http:
        rows = [{**row, "owner": users[str(row["owner"])]} for row in SECRETS]
        http.post("/secrets", json=rows).raise_for_status()
    return relations_server


@pytest.mark.parametrize("actor", sorted(EMBEDDED_SECRETS))
async def test_embedded_rows_follow_the_row_policy(with_secrets: ServerProcess, actor: str) -> None:
    token = None if actor == "anon" else mint(with_secrets, {"A": ALICE, "B": BOB}[actor])
    expected, inner = EMBEDDED_SECRETS[actor]
    async with api_client(with_secrets, token) as client:
        posts = client.table("posts")
        rows = (await posts.select("id, secrets(note)").order("id").order("id", foreign_table="secrets").execute()).data
        assert tuple((row["id"], tuple(s["note"] for s in row["secrets"])) for row in rows) == expected
        kept = await posts.select("id, secrets!inner(id)", count="exact").order("id").execute()
        assert tuple(row["id"] for row in kept.data) == inner and kept.count == len(inner)


async def test_embedding_shapes_through_supabase_py(relations_server: ServerProcess) -> None:
    async with api_client(relations_server) as client:
        posts = client.table("posts")
        rows = (await posts.select("id, writer:authors!author(name), editor(name)").order("id").execute()).data
        assert rows == [
            {"id": 10, "writer": {"name": "Ada"}, "editor": {"name": "Grace"}},
            {"id": 11, "writer": {"name": "Grace"}, "editor": None},
        ]
        authors = client.table("authors")
        nested = await authors.select("name, posts!author(title, authors!editor(name))").eq("id", 1).single().execute()
        assert nested.data == {"name": "Ada", "posts": [{"title": "Notes on the engine", "authors": {"name": "Grace"}}]}
        inner = await authors.select("name, posts!author!inner(id)").gt("posts.stars", 3).execute()
        assert inner.data == [{"name": "Ada", "posts": [{"id": 10}]}]
        with pytest.raises(APIError) as ambiguous:
            await posts.select("*, authors(*)").execute()
        assert ambiguous.value.code == "PGRST201" and "authors!posts_author_fkey" in (ambiguous.value.hint or "")
        assert ambiguous.value.details[0] == {  # type: ignore[index]
            "cardinality": "many-to-one",
            "embedding": "posts with authors",
            "relationship": "posts_author_fkey using posts(author) and authors(id)",
        }
        with pytest.raises(APIError) as missing:
            await posts.select("*, readers(*)").execute()
        assert missing.value.code == "PGRST200"


async def test_cascaded_deletes_and_set_nulls_are_change_events(start: Callable[..., ServerProcess]) -> None:
    server = start("--schema", str(SCHEMA_FILE))
    client = await acreate_client(server.url, server.anon_key)
    inbox = Inbox()
    channel = client.channel("posts-feed").on_postgres_changes("*", inbox, table="posts")
    await subscribed(channel)
    try:
        with _service(server) as http:
            http.delete("/authors?id=eq.2").raise_for_status()  # wrote post 11, edits post 10
        events = [await inbox.next(), await inbox.next()]
        seen = sorted((e["data"]["type"], e["data"]["old_record"]["id"]) for e in events)
        assert seen == [("DELETE", 11), ("UPDATE", 10)]
        update = next(e["data"] for e in events if e["data"]["type"] == "UPDATE")
        assert (update["old_record"]["editor"], update["record"]["editor"]) == (2, None)
    finally:
        await client.realtime.close()
