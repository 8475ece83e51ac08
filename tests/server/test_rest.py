"""The data API through the official ``supabase`` client (and raw HTTP where exact statuses matter)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import httpx
import pytest
from postgrest.exceptions import APIError
from supabase import AsyncClient

from nbrealtime.launcher import ServerProcess
from tests.server.rest_support import ALICE, api_client, http, mint

SCHEMA = Path(__file__).with_name("rest_items.toml")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?\+00:00$")


@pytest.fixture
def items_server(start: Callable[..., ServerProcess]) -> ServerProcess:
    return start("--schema", str(SCHEMA))


@pytest.fixture
async def client(items_server: ServerProcess) -> AsyncIterator[AsyncClient]:
    async with api_client(items_server) as anon:
        yield anon


async def seed(client: AsyncClient) -> None:
    rows = [
        {"name": "apple", "code": "a", "qty": 3, "price": 1.5, "active": True, "tags": ["red"], "meta": {"k": 1}},
        {"name": "Banana", "code": "b,c", "qty": 5, "price": None, "active": False, "tags": [], "meta": {}},
        {"name": "cherry", "code": None, "qty": 0, "price": 9.0, "active": True, "tags": ["red", "x"], "meta": {}},
        {"name": "date", "code": "d", "qty": 5, "price": 2.0, "active": True, "tags": [], "meta": {"k": 2}},
    ]
    response = await client.table("items").insert(rows).execute()
    assert [row["id"] for row in response.data] == [1, 2, 3, 4]


async def names(query) -> list[str]:  # a postgrest request builder
    return [row["name"] for row in (await query.execute()).data]


async def test_insert_returns_typed_json(client: AsyncClient, items_server: ServerProcess) -> None:
    async with api_client(items_server, mint(items_server, ALICE)) as alice:
        row = (await alice.table("items").insert({"name": "x", "tags": ["a", "b"]}).execute()).data[0]
    assert row["id"] == 1 and row["qty"] == 0 and row["active"] is True and row["price"] is None
    assert row["tags"] == ["a", "b"] and row["meta"] == {} and row["owner"] == ALICE
    assert TIMESTAMP.match(row["created_at"]), row["created_at"]
    again = (await client.table("items").select("*").eq("id", 1).execute()).data
    assert again == [row]


async def test_each_filter(client: AsyncClient) -> None:
    await seed(client)
    table = client.table("items")
    assert await names(table.select("name").eq("qty", 5).order("id")) == ["Banana", "date"]
    assert await names(table.select("name").neq("qty", 5).order("id")) == ["apple", "cherry"]
    assert await names(table.select("name").gt("qty", 3).order("id")) == ["Banana", "date"]
    assert await names(table.select("name").gte("qty", 3).lt("qty", 5)) == ["apple"]
    assert await names(table.select("name").lte("price", 1.5)) == ["apple"]
    assert await names(table.select("name").like("name", "%an%")) == ["Banana"]
    assert await names(table.select("name").ilike("name", "b%")) == ["Banana"]
    assert await names(table.select("name").is_("price", None)) == ["Banana"]
    assert await names(table.select("name").is_("active", False)) == ["Banana"]
    assert await names(table.select("name").in_("code", ["a", "b,c"]).order("id")) == ["apple", "Banana"]
    assert await names(table.select("name").not_.eq("active", True)) == ["Banana"]
    assert await names(table.select("name").not_.in_("qty", [5, 3])) == ["cherry"]
    assert await names(table.select("name").filter("name", "match", "^[a-c]").order("id")) == ["apple", "cherry"]
    assert await names(table.select("name").filter("name", "imatch", "^b")) == ["Banana"]
    assert await names(table.select("name").filter("price", "isdistinct", "9").order("id")) == [
        "apple",
        "Banana",
        "date",
    ]
    assert await names(table.select("name").filter("name", "like", "*rr*")) == ["cherry"]
    assert await names(table.select("name").or_("qty.eq.0,and(active.is.false,name.ilike.b*)").order("id")) == [
        "Banana",
        "cherry",
    ]
    assert await names(table.select("name").eq("tags", "{red,x}")) == ["cherry"]
    assert await names(table.select("name").eq("meta", '{"k":2}')) == ["date"]
    assert await names(table.select("name").match({"qty": 5, "active": True})) == ["date"]


async def test_select_aliases_order_and_windows(client: AsyncClient, items_server: ServerProcess) -> None:
    await seed(client)
    table = client.table("items")
    rows = (await table.select("label:name, qty").order("qty", desc=True).order("name").execute()).data
    assert rows == [
        {"label": "Banana", "qty": 5},
        {"label": "date", "qty": 5},
        {"label": "apple", "qty": 3},
        {"label": "cherry", "qty": 0},
    ]
    assert await names(table.select("name").order("price", nullsfirst=True).limit(2)) == ["Banana", "apple"]
    assert await names(table.select("name").order("price")) == ["apple", "date", "cherry", "Banana"]
    assert await names(table.select("name").order("price", desc=True)) == ["Banana", "cherry", "date", "apple"]
    assert await names(table.select("name").order("id").limit(2).offset(1)) == ["Banana", "cherry"]
    assert await names(table.select("name").order("id").range(2, 3)) == ["cherry", "date"]
    with http(items_server) as raw:
        ranged = raw.get("/items", params={"select": "name", "order": "id"}, headers={"Range": "1-2"})
        assert [row["name"] for row in ranged.json()] == ["Banana", "cherry"]
        assert ranged.headers["content-range"] == "1-2/*"


async def test_count_content_range_and_head(client: AsyncClient, items_server: ServerProcess) -> None:
    await seed(client)
    counted = await client.table("items").select("id", count="exact").eq("active", True).execute()
    assert counted.count == 3 and len(counted.data) == 3
    head = await client.table("items").select("*", count="planned", head=True).execute()
    assert head.count == 4
    with http(items_server) as raw:
        partial = raw.get("/items", params={"limit": "2"}, headers={"Prefer": "count=exact"})
        assert (partial.status_code, partial.headers["content-range"]) == (206, "0-1/4")
        empty = raw.get("/items", params={"qty": "gt.100"}, headers={"Prefer": "count=exact"})
        assert (empty.status_code, empty.headers["content-range"], empty.json()) == (200, "*/0", [])
        plain = raw.get("/items")
        assert plain.headers["content-range"] == "0-3/*"
        heads = raw.head("/items", headers={"Prefer": "count=exact"})
        assert heads.status_code == 200 and heads.content == b"" and heads.headers["content-range"] == "0-3/4"
        beyond = raw.get("/items", params={"offset": "10"}, headers={"Prefer": "count=exact"})
        assert (beyond.status_code, beyond.json()["code"]) == (416, "PGRST103")


async def test_single_and_maybe_single(client: AsyncClient) -> None:
    await seed(client)
    one = await client.table("items").select("name").eq("code", "a").single().execute()
    assert one.data == {"name": "apple"}
    with pytest.raises(APIError) as none:
        await client.table("items").select("*").eq("code", "zzz").single().execute()
    assert none.value.code == "PGRST116" and none.value.details == "The result contains 0 rows"
    with pytest.raises(APIError) as many:
        await client.table("items").select("*").eq("qty", 5).single().execute()
    assert many.value.code == "PGRST116"
    assert await client.table("items").select("*").eq("code", "zzz").maybe_single().execute() is None
    maybe = await client.table("items").select("name").eq("code", "d").maybe_single().execute()
    assert maybe is not None and maybe.data == {"name": "date"}


async def test_bulk_insert_missing_keys(client: AsyncClient) -> None:
    rows = [{"name": "a", "price": 1.0}, {"name": "b"}]
    inserted = (await client.table("items").insert(rows).execute()).data
    assert [row["price"] for row in inserted] == [1.0, None]
    with_defaults = [{"name": "c", "qty": 9}, {"name": "d"}]
    inserted = (await client.table("items").insert(with_defaults, default_to_null=False).execute()).data
    assert [row["qty"] for row in inserted] == [9, 0]
    with pytest.raises(APIError) as not_null:
        await client.table("items").insert([{"name": "e", "qty": 1}, {"name": "f"}]).execute()
    assert not_null.value.code == "23502"  # a named column missing from an object is NULL, as in PostgREST
    assert len((await client.table("items").select("id").execute()).data) == 4


async def test_upsert_merge_and_ignore(client: AsyncClient) -> None:
    await seed(client)
    merged = await client.table("items").upsert({"id": 1, "name": "apricot", "qty": 4}).execute()
    assert merged.data[0]["name"] == "apricot" and merged.data[0]["code"] == "a" and merged.data[0]["qty"] == 4
    by_code = (
        await client.table("items")
        .upsert([{"code": "d", "name": "durian"}, {"code": "e", "name": "elder"}], on_conflict="code")
        .execute()
    )
    assert [(row["id"], row["name"]) for row in by_code.data] == [(4, "durian"), (5, "elder")]
    ignored = (
        await client.table("items")
        .upsert([{"id": 2, "name": "blueberry"}, {"id": 9, "name": "fig"}], ignore_duplicates=True)
        .execute()
    )
    assert [row["name"] for row in ignored.data] == ["fig"]
    assert (await client.table("items").select("name").eq("id", 2).single().execute()).data["name"] == "Banana"
    with pytest.raises(APIError) as bad_target:
        await client.table("items").upsert({"name": "x"}, on_conflict="name").execute()
    assert bad_target.value.code == "42P10"


async def test_update_and_delete(client: AsyncClient, items_server: ServerProcess) -> None:
    await seed(client)
    updated = await client.table("items").update({"qty": 6, "meta": {"z": [1]}}).eq("qty", 5).execute()
    assert sorted(row["name"] for row in updated.data) == ["Banana", "date"]
    assert all(row["qty"] == 6 and row["meta"] == {"z": [1]} for row in updated.data)
    assert (await client.table("items").update({"qty": 1}).eq("id", 99).execute()).data == []
    deleted = await client.table("items").delete().in_("id", [1, 2]).execute()
    assert sorted(row["id"] for row in deleted.data) == [1, 2]
    with http(items_server) as raw:
        patched = raw.patch(
            "/items", params={"id": "eq.3"}, json={"active": False}, headers={"Prefer": "return=minimal"}
        )
        assert (patched.status_code, patched.content) == (204, b"")
        gone = raw.request("DELETE", "/items", params={"id": "eq.3"}, json={})
        assert gone.status_code == 204
        posted = raw.post("/items", json={"name": "z"}, headers={"Prefer": "return=minimal"})
        assert (posted.status_code, posted.content) == (201, b"")
        located = raw.post("/items", json={"name": "y"}, headers={"Prefer": "return=headers-only"})
        assert located.status_code == 201 and located.headers["location"] == "/items?id=eq.6"
        strict = raw.request("DELETE", "/items", headers={"Prefer": "handling=strict,max-affected=1"}, json={})
        assert (strict.status_code, strict.json()["code"]) == (400, "PGRST124")
    remaining = await names(client.table("items").select("name").order("id"))
    assert remaining == ["date", "z", "y"]


async def test_client_errors_carry_postgrest_codes(client: AsyncClient) -> None:
    await seed(client)
    cases = [
        (client.table("nope").select("*"), "PGRST205"),
        (client.table("_auth_users").select("*"), "PGRST205"),
        (client.table("items").select("ghost"), "42703"),
        (client.table("items").select("*").eq("ghost", 1), "42703"),
        (client.table("items").insert({"ghost": 1, "name": "x"}), "PGRST204"),
        (client.table("items").insert({"id": 1, "name": "dup"}), "23505"),
        (client.table("items").insert({"qty": 1}), "23502"),
        (client.table("items").insert({"name": "x", "qty": "many"}), "22P02"),
        (client.table("items").select("*").filter("qty", "between", "1"), "PGRST100"),
        (client.table("items").select("*, owner:profiles(name)"), "PGRST200"),
        (client.table("items").select("*").like("qty", "1%"), "42883"),
    ]
    for builder, code in cases:
        with pytest.raises(APIError) as error:
            await builder.execute()
        assert error.value.code == code, (code, error.value)
    with pytest.raises(APIError) as duplicate:
        await client.table("items").insert({"id": 1, "name": "dup"}).execute()
    assert duplicate.value.details == "Key (id)=(1) already exists."
    assert duplicate.value.message == 'duplicate key value violates unique constraint "items_pkey"'
    with pytest.raises(APIError) as rpc:
        await client.rpc("anything", {}).execute()
    assert rpc.value.code == "PGRST202"


def test_http_errors_and_statuses(items_server: ServerProcess) -> None:
    with http(items_server) as raw:
        assert raw.post("/items", content=b"{nope", headers={"Content-Type": "application/json"}).json()["code"] == (
            "PGRST102"
        )
        duplicate = raw.post("/items", json=[{"name": "a", "id": 1}, {"name": "b", "id": 1}])
        assert (duplicate.status_code, duplicate.json()["code"]) == (409, "23505")
        assert raw.get("/items").json() == []  # the failed batch rolled back as a whole
        mismatched = raw.post("/items", json=[{"name": "a"}, {"qty": 1}])
        assert (mismatched.status_code, mismatched.json()["message"]) == (400, "All object keys must match")
        assert raw.get("/nope").status_code == 404
        assert raw.get("/items", headers={"Accept-Profile": "private"}).json()["code"] == "PGRST106"
        assert raw.get("/items", headers={"Accept": "text/csv"}).status_code == 406
        bad_jwt = raw.get("/items", headers={"Authorization": "Bearer not.a.jwt"})
        assert (bad_jwt.status_code, bad_jwt.json()["code"]) == (401, "PGRST301")
        expired = raw.get("/items", headers={"Authorization": f"Bearer {mint(items_server, lifetime=-10)}"})
        assert (expired.status_code, expired.json()["message"]) == (401, "JWT expired")
        nothing = raw.get("/items", headers={"Authorization": "", "apiKey": ""})
        assert (nothing.status_code, nothing.json()["code"]) == (401, "PGRST302")
        too_big = raw.post("/items", content=b"[" + b" " * (11 * 1024 * 1024) + b"]")
        assert too_big.status_code == 413
        assert raw.post("/rpc/fn", json={}).json()["code"] == "PGRST202"
        head_missing = raw.head("/nope")
        assert head_missing.status_code == 404 and head_missing.content == b""


async def test_data_survives_restart(items_server: ServerProcess) -> None:
    async with api_client(items_server) as anon:
        await anon.table("items").insert({"name": "durable", "tags": ["t"]}).execute()
    items_server.stop()
    again = items_server.restart()
    try:
        async with api_client(again) as anon:
            rows = (await anon.table("items").select("name, tags").execute()).data
            assert rows == [{"name": "durable", "tags": ["t"]}]
            added = (await anon.table("items").insert({"name": "next"}).execute()).data
            assert added[0]["id"] == 2
    finally:
        again.stop()


def test_browsers_on_another_origin_may_call_it_with_a_key(items_server: ServerProcess) -> None:
    """A shared-cell editor in JupyterLab (another port, so another origin) writes the update log itself."""
    origin = "http://127.0.0.1:8888"
    with http(items_server) as client:
        preflight = client.options(
            "/rest/v1/items",
            headers={
                "Origin": origin,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "apikey, authorization, content-type, prefer",
            },
        )
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "*"
        assert "POST" in preflight.headers["access-control-allow-methods"]
        listed = client.get("/rest/v1/items", headers={"Origin": origin})
        assert listed.headers["access-control-allow-origin"] == "*"
        assert "content-range" in listed.headers["access-control-expose-headers"].lower()
        keyless = httpx.get(f"{items_server.url}/rest/v1/items", headers={"Origin": origin})
        assert keyless.status_code == 401, "CORS opens the door to browsers, not to requests without a key"
