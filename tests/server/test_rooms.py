"""The room functions on the embedded server, called as on Supabase: ``client.rpc()`` of the official client.

The cases are the ones ``tests/test_pgsql.py`` runs against the PostgreSQL functions, so both backends grant the
same roles and refuse with the same messages.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from postgrest.exceptions import APIError

from nbrealtime.launcher import ServerProcess, start_server
from tests.policy_cases import (
    A_OWNS_R1,
    JOIN_CASES,
    ROOM_R1,
    SET_ROLE_CASES,
    TOKEN,
    JoinCase,
    Row,
    SetRoleCase,
    invite,
    resolve,
)
from tests.server.rest_support import ALICE, BOB, api_client, headers, mint

USER_IDS = {"A": ALICE, "B": BOB}
TABLES = ("nbrt_rooms", "nbrt_room_members", "nbrt_room_invites")


@pytest.fixture(scope="module")
def rooms_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("rooms"), ["--port", "0"])
    yield process
    process.stop()


def _reset(server: ServerProcess, rows: tuple[Row, ...]) -> None:
    admin = {**headers(server, server.service_role_key), "apiKey": server.service_role_key}
    with httpx.Client(base_url=f"{server.url}/rest/v1", headers=admin) as client:
        for table in TABLES:
            client.delete(f"/{table}").raise_for_status()
        for row in rows:
            response = client.post(f"/{row.table}", json=resolve(row.values, USER_IDS))
            assert response.status_code == 201, response.text


def _token(server: ServerProcess, actor: str) -> str | None:
    return mint(server, USER_IDS[actor]) if actor in USER_IDS else None


async def _rpc(server: ServerProcess, actor: str, function: str, args: dict[str, Any]) -> Any:
    async with api_client(server, _token(server, actor)) as client:
        return (await client.rpc(function, args).execute()).data


def _role_of(server: ServerProcess, actor: str, room: str) -> str | None:
    admin = {**headers(server, server.service_role_key), "apiKey": server.service_role_key}
    params = {"room": f"eq.{room}", "user_id": f"eq.{USER_IDS.get(actor, ALICE)}", "select": "role"}
    rows = httpx.get(f"{server.url}/rest/v1/nbrt_room_members", params=params, headers=admin).json()
    return rows[0]["role"] if rows else None


@pytest.mark.parametrize("case", JOIN_CASES, ids=lambda case: case.name)
async def test_join_room(rooms_server: ServerProcess, case: JoinCase) -> None:
    _reset(rooms_server, case.setup)
    before = _role_of(rooms_server, case.actor, str(case.args["room"]))
    if case.role is None:
        with pytest.raises(APIError) as refused:
            await _rpc(rooms_server, case.actor, "nbrt_join_room", dict(case.args))
        assert case.refusal in refused.value.message, refused.value.message
        assert refused.value.code in ("42501", "22023")
        assert "Traceback" not in str(refused.value.json())
        assert _role_of(rooms_server, case.actor, str(case.args["room"])) == before
    else:
        result = await _rpc(rooms_server, case.actor, "nbrt_join_room", dict(case.args))
        assert result["role"] == case.role
        assert result["created"] is (not case.setup)
        assert _role_of(rooms_server, case.actor, str(case.args["room"])) == case.role


@pytest.mark.parametrize("case", SET_ROLE_CASES, ids=lambda case: case.name)
async def test_set_role(rooms_server: ServerProcess, case: SetRoleCase) -> None:
    _reset(rooms_server, case.setup)
    member = USER_IDS[case.member.name]
    args = {"room": "r1", "member": member, "role": case.role}
    before = _role_of(rooms_server, case.member.name, "r1")
    if case.allowed:
        assert (await _rpc(rooms_server, case.actor, "nbrt_set_role", args))["role"] == case.role
        assert _role_of(rooms_server, case.member.name, "r1") == case.role
    else:
        with pytest.raises(APIError) as refused:
            await _rpc(rooms_server, case.actor, "nbrt_set_role", args)
        assert case.refusal in refused.value.message, refused.value.message
        assert _role_of(rooms_server, case.member.name, "r1") == before


async def test_the_last_use_of_an_invite_goes_to_one_of_two_racers(rooms_server: ServerProcess) -> None:
    _reset(rooms_server, (ROOM_R1, A_OWNS_R1, invite(max_uses=1)))
    carol = "cccccccc-0000-4000-8000-00000000000c"
    USER_IDS["C"] = carol
    try:
        outcomes = await asyncio.gather(
            *(_rpc(rooms_server, who, "nbrt_join_room", {"room": "r1", "invite": TOKEN}) for who in ("B", "C")),
            return_exceptions=True,
        )
    finally:
        del USER_IDS["C"]
    assert sorted(type(outcome).__name__ for outcome in outcomes) == ["APIError", "dict"], outcomes
    refused = next(outcome for outcome in outcomes if isinstance(outcome, APIError))
    assert "used up" in refused.message


def test_unknown_functions_and_methods_get_postgrest_errors(rooms_server: ServerProcess) -> None:
    response = httpx.post(f"{rooms_server.url}/rest/v1/rpc/pg_sleep", json={}, headers=headers(rooms_server))
    assert response.status_code == 404 and response.json()["code"] == "PGRST202"
    assert "nbrt_join_room" in response.json()["hint"]
    response = httpx.get(f"{rooms_server.url}/rest/v1/rpc/nbrt_join_room", headers=headers(rooms_server))
    assert response.status_code == 404
    response = httpx.post(f"{rooms_server.url}/rest/v1/rpc/nbrt_join_room", json=[1], headers=headers(rooms_server))
    assert response.status_code == 400 and response.json()["code"] == "PGRST102"
    token = mint(rooms_server, ALICE)
    response = httpx.post(
        f"{rooms_server.url}/rest/v1/rpc/nbrt_join_room", json={"room": 7}, headers=headers(rooms_server, token)
    )
    assert response.status_code == 400 and response.json()["code"] == "22023", response.text


def test_rooms_from_before_roles_keep_their_members(tmp_path) -> None:
    """An embedded database from before roles: on start its rooms' creators become owners and members editors."""
    import sqlite3

    data_dir = tmp_path / "old"
    data_dir.mkdir(mode=0o700)
    with sqlite3.connect(data_dir / "nbrealtime.sqlite3") as old:
        old.execute("CREATE TABLE nbrt_rooms (name TEXT, created_by TEXT, created_at TEXT, PRIMARY KEY (name))")
        old.execute(
            "CREATE TABLE nbrt_room_members (room TEXT, user_id TEXT, name TEXT, color TEXT, joined_at TEXT,"
            " last_seen TEXT, PRIMARY KEY (room, user_id))"
        )
        old.execute("INSERT INTO nbrt_rooms VALUES ('old', ?, '2026-01-01T00:00:00+00:00')", (ALICE,))
        old.executemany(
            "INSERT INTO nbrt_room_members VALUES ('old', ?, NULL, NULL, ?, ?)",
            [(user, "2026-01-01T00:00:00+00:00", "2026-01-02T00:00:00+00:00") for user in (ALICE, BOB)],
        )
    server = start_server(data_dir, ["--port", "0"])
    try:
        assert (_role_of(server, "A", "old"), _role_of(server, "B", "old")) == ("owner", "editor")
        rows = httpx.get(f"{server.url}/rest/v1/nbrt_rooms", headers=headers(server, mint(server, ALICE))).json()
        assert [(row["name"], row["open_to"]) for row in rows] == [("old", "invited")]
        admin = {**headers(server, server.service_role_key), "apiKey": server.service_role_key}
        params = {"room": "eq.old", "user_id": f"eq.{BOB}"}
        url = f"{server.url}/rest/v1/nbrt_room_members"
        response = httpx.patch(url, params=params, json={"role": "viewer"}, headers=admin)
        assert response.status_code == 204, response.text
    finally:
        server.stop()
    restarted = start_server(data_dir, ["--port", "0"])
    try:
        assert _role_of(restarted, "B", "old") == "viewer", "upgraded once, not on every start"
    finally:
        restarted.stop()
