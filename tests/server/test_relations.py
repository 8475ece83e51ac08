"""The schema file's foreign keys, checks, lengths, identity columns and seed rows on the embedded server.

``test_pgsql.py`` runs the same refused writes (``tests/relation_cases.py``) on PostgreSQL 15.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from postgrest.exceptions import APIError

from nbrealtime.launcher import ServerProcess, ServerStartError, start_server
from tests.relation_cases import REFUSED_WRITES, SCHEMA_FILE, RefusedWrite
from tests.server.rest_support import api_client, headers


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
