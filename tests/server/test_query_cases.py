"""The shared query cases (``tests/query_cases.py``) on the embedded server, and the new operators through supabase-py.

``test_pgsql.py`` runs the same cases on PostgreSQL 15: both must give the rows the case names.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from postgrest.exceptions import APIError
from supabase import AsyncClient

from nbrealtime.launcher import ServerProcess, start_server
from tests.query_cases import CASES, ERROR_CASES, ROWS, SCHEMA, SELECT_CASES, QueryCase, SelectCase
from tests.server.rest_support import api_client, headers


@pytest.fixture(scope="module")
def docs_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One server for the module, with the case table seeded by the service role (cases only read)."""
    root = tmp_path_factory.mktemp("query-cases")
    schema_file = root / "schema.toml"
    schema_file.write_text(SCHEMA, encoding="utf-8")
    process = start_server(root / "server", ["--port", "0", "--schema", str(schema_file)])
    try:
        service = headers(process, process.service_role_key)
        with httpx.Client(base_url=f"{process.url}/rest/v1", headers=service) as http:
            http.post("/docs", json=list(ROWS)).raise_for_status()
        yield process
    finally:
        process.stop()


@pytest.fixture(scope="module")
def http(docs_server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{docs_server.url}/rest/v1", headers=headers(docs_server)) as client:
        yield client


@pytest.fixture
async def anon(docs_server: ServerProcess) -> AsyncIterator[AsyncClient]:
    async with api_client(docs_server) as client:
        yield client


def _query(case: QueryCase) -> str:
    order = "" if "order=" in case.query else "order=id&"
    return f"/docs?select=id&{order}{case.query}"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_query_case(http: httpx.Client, case: QueryCase) -> None:
    response = http.get(_query(case))
    assert response.status_code == 200, response.text
    assert tuple(row["id"] for row in response.json()) == case.ids


@pytest.mark.parametrize("case", SELECT_CASES, ids=[case.name for case in SELECT_CASES])
def test_select_case(http: httpx.Client, case: SelectCase) -> None:
    response = http.get(f"/docs?{case.query}")
    assert response.status_code == 200, response.text
    assert tuple(response.json()) == case.rows


@pytest.mark.parametrize(("query", "status", "code"), ERROR_CASES, ids=[query for query, _, _ in ERROR_CASES])
def test_refused_query(http: httpx.Client, query: str, status: int, code: str) -> None:
    response = http.get(f"/docs?select=id&{query}")
    assert response.status_code == status, response.text
    body = response.json()
    assert body["code"] == code and body["message"], body
    assert set(body) == {"code", "details", "hint", "message"}


async def _ids(query) -> list[int]:  # a postgrest request builder
    return [row["id"] for row in (await query.order("id").execute()).data]


async def test_new_operators_through_supabase_py(anon: AsyncClient) -> None:
    docs = anon.table("docs")
    assert await _ids(docs.select("id").contains("tags", ["a"])) == [1]
    assert await _ids(docs.select("id").contains("meta", {"o": {"p": 1}})) == [4]
    assert await _ids(docs.select("id").contained_by("tags", ["a", "b", "c"])) == [1, 2, 5]
    assert await _ids(docs.select("id").overlaps("tags", ["c", "a"])) == [1, 4]
    assert await _ids(docs.select("id").not_.contains("tags", ["b"])) == [4, 5]
    assert await _ids(docs.select("id").like_any_of("body", "%cat%,%dog%")) == [1, 2, 4]
    assert await _ids(docs.select("id").ilike_all_of("title", "*a*,*s")) == [1, 5]
    assert await _ids(docs.select("id").text_search("body", "cat & !run")) == [4]
    options = {"config": "english", "type": "web_search"}
    assert await _ids(docs.select("id").text_search("body", '"fat cat" or dog', options)) == [2, 4]
    assert await _ids(docs.select("id").text_search("body", "running cats", {"type": "plain"})) == [1]
    assert await _ids(docs.select("id").or_("tags.cs.{c},body.phfts.dog sat")) == [2, 4]


async def test_bad_tsquery_is_one_clear_error(anon: AsyncClient) -> None:
    with pytest.raises(APIError) as raised:
        await anon.table("docs").select("id").text_search("body", "fat cat").execute()
    assert raised.value.code == "42601"
    assert raised.value.message == 'syntax error in tsquery: "fat cat"'


def test_schema_and_rows_are_in_step() -> None:
    columns = {line.split("=")[0].strip() for line in SCHEMA.split("[tables.docs.columns]")[1].strip().splitlines()}
    assert all(set(row) == columns for row in ROWS)


async def test_json_paths_and_casts_through_supabase_py(anon: AsyncClient) -> None:
    docs = anon.table("docs")
    rows = (await docs.select("id, title:meta->>s, meta->o, n::text").eq("meta->>s", "x").execute()).data
    assert rows == [{"id": 2, "title": "x", "o": None, "n": "10"}]
    ordered = await docs.select("id").not_.is_("meta->k", "null").order("meta->k", desc=True).execute()
    assert [row["id"] for row in ordered.data] == [4, 2, 1]
