"""``supabase.auth.admin`` through supabase-py: create, list, get, update, delete users, for the service role only."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
from supabase import AsyncClient
from supabase_auth.errors import AuthApiError

from nbrealtime.launcher import ServerProcess
from tests.server.rest_support import api_client, mint


@pytest.fixture
async def service(server: ServerProcess) -> AsyncIterator[AsyncClient]:
    async with api_client(server, service=True) as client:
        yield client


async def test_create_with_password_then_sign_in(service: AsyncClient, server: ServerProcess) -> None:
    created = await service.auth.admin.create_user(
        {
            "email": "Teacher@Example.com",
            "password": "correct horse",
            "email_confirm": True,
            "user_metadata": {"name": "Ada"},
            "app_metadata": {"course": "cs101"},
        }
    )
    user = created.user
    assert user.email == "teacher@example.com" and user.user_metadata == {"name": "Ada"}
    assert user.app_metadata == {"provider": "email", "providers": ["email"], "course": "cs101"}
    assert user.email_confirmed_at is not None
    async with api_client(server) as anon:
        session = await anon.auth.sign_in_with_password({"email": "teacher@example.com", "password": "correct horse"})
    assert session.user is not None and session.user.id == user.id


async def test_unconfirmed_and_passwordless_users(service: AsyncClient, server: ServerProcess) -> None:
    user = (await service.auth.admin.create_user({"email": "student@example.com", "password": "pass word"})).user
    assert user.email_confirmed_at is None
    passwordless = (await service.auth.admin.create_user({"email": "guest@example.com", "email_confirm": True})).user
    async with api_client(server) as anon:
        with pytest.raises(AuthApiError) as unconfirmed:
            await anon.auth.sign_in_with_password({"email": "student@example.com", "password": "pass word"})
        with pytest.raises(AuthApiError) as no_password:  # a generated password nobody knows
            await anon.auth.sign_in_with_password({"email": passwordless.email or "", "password": "pass word"})
    assert unconfirmed.value.code == "email_not_confirmed"
    assert no_password.value.code == "invalid_credentials"
    with pytest.raises(AuthApiError) as nothing:
        await service.auth.admin.create_user({})
    assert (nothing.value.status, nothing.value.code) == (400, "validation_failed")
    assert nothing.value.message == "Cannot create a user without either an email or phone"
    with pytest.raises(AuthApiError) as twice:
        await service.auth.admin.create_user({"email": "student@example.com"})
    assert (twice.value.status, twice.value.code) == (422, "email_exists")


async def test_list_get_update_delete(service: AsyncClient, server: ServerProcess) -> None:
    admin = service.auth.admin
    ids = [(await admin.create_user({"email": f"u{n}@example.com"})).user.id for n in range(3)]
    page_one = await admin.list_users(page=1, per_page=2)
    page_two = await admin.list_users(page=2, per_page=2)
    assert [user.id for user in page_one + page_two] == ids[::-1]  # newest first, as GoTrue sorts
    with httpx.Client(base_url=f"{server.url}/auth/v1", headers=_service_headers(server)) as http:
        response = http.get("/admin/users", params={"page": 1, "per_page": 2})
    assert response.headers["x-total-count"] == "3"
    assert response.headers["link"] == (
        '</admin/users?page=2&per_page=2>; rel="next", </admin/users?page=2&per_page=2>; rel="last"'
    )
    fetched = (await admin.get_user_by_id(ids[0])).user
    assert fetched.email == "u0@example.com"
    await admin.update_user_by_id(ids[0], {"user_metadata": {"a": 1, "b": 2}})
    updated = await admin.update_user_by_id(
        ids[0], {"user_metadata": {"b": None, "c": 3}, "app_metadata": {"plan": "pro"}, "email": "new@example.com"}
    )
    assert updated.user.user_metadata == {"a": 1, "c": 3}
    assert updated.user.app_metadata["plan"] == "pro" and updated.user.email == "new@example.com"
    await admin.delete_user(ids[0])
    with pytest.raises(AuthApiError) as gone:
        await admin.get_user_by_id(ids[0])
    assert (gone.value.status, gone.value.code, gone.value.message) == (404, "user_not_found", "User not found")


@pytest.mark.parametrize("who", ["anon", "user"])
def test_other_roles_are_refused(server: ServerProcess, who: str) -> None:
    token = server.anon_key if who == "anon" else mint(server, str(uuid.uuid4()))
    headers = {"apikey": server.anon_key, "Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=f"{server.url}/auth/v1", headers=headers) as http:
        for method, path in [
            ("GET", "/admin/users"),
            ("POST", "/admin/users"),
            ("DELETE", f"/admin/users/{uuid.uuid4()}"),
        ]:
            response = http.request(method, path, json={"email": "x@example.com"})
            assert response.status_code == 403, response.text
            assert response.json() == {"code": "not_admin", "message": "User not allowed"}


def test_bad_ids_and_unsupported_fields(server: ServerProcess) -> None:
    with httpx.Client(base_url=f"{server.url}/auth/v1", headers=_service_headers(server)) as http:
        bad = http.get("/admin/users/not-a-uuid")
        assert (bad.status_code, bad.json()["message"]) == (400, "user_id must be an UUID")
        refused = http.post("/admin/users", json={"email": "p@example.com", "phone": "+15555550100"})
        assert refused.status_code == 400 and "phone" in refused.json()["message"]
        assert http.get("/admin/users").json()["users"] == []  # nothing was created


def _service_headers(server: ServerProcess) -> dict[str, str]:
    return {"apikey": server.service_role_key, "Authorization": f"Bearer {server.service_role_key}"}
