"""The auth service (``/auth/v1``) driven by the official, unpatched supabase client against a real server."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import jwt
import pytest
from supabase import AsyncClient, AuthApiError, AuthWeakPasswordError, acreate_client

from nbrealtime.launcher import ServerProcess
from nbrealtime.server.tokens import AUTHENTICATED, verify_token

Connect = Callable[..., Awaitable[AsyncClient]]
PASSWORD = "correct horse"


@pytest.fixture
async def connect(server: ServerProcess) -> AsyncIterator[Connect]:
    """Clients with default options; closed afterwards (their httpx pools would otherwise warn as unclosed)."""
    clients: list[AsyncClient] = []

    async def _connect(target: ServerProcess = server) -> AsyncClient:
        client = await acreate_client(target.url, target.anon_key)
        clients.append(client)
        return client

    yield _connect
    for client in clients:
        await client.auth.close()


def jwt_secret(server: ServerProcess) -> str:
    return json.loads((server.data_dir / "keys.json").read_text())["jwt_secret"]


async def signed_up(connect: Connect, email: str = "ann@example.com", **metadata: object) -> AsyncClient:
    client = await connect()
    await client.auth.sign_up({"email": email, "password": PASSWORD, "options": {"data": metadata}})
    return client


async def test_anonymous_sign_in_returns_a_verifiable_session(server: ServerProcess, connect: Connect) -> None:
    client = await connect()
    response = await client.auth.sign_in_anonymously()
    session, user = response.session, response.user
    assert session is not None and user is not None
    assert user.is_anonymous is True and user.role == AUTHENTICATED and user.identities == []
    assert session.expires_in == 3600 and session.expires_at == pytest.approx(time.time() + 3600, abs=5)
    claims = jwt.decode(session.access_token, jwt_secret(server), algorithms=["HS256"], audience="authenticated")
    assert claims["sub"] == user.id and claims["role"] == AUTHENTICATED and claims["is_anonymous"] is True
    assert [entry["method"] for entry in claims["amr"]] == ["anonymous"]
    assert claims["exp"] - claims["iat"] == 3600 and claims["exp"] == session.expires_at
    assert claims["iss"] == f"{server.url}/auth/v1" and claims["session_id"]
    assert verify_token(session.access_token, jwt_secret(server)).user_id == user.id
    # A second anonymous sign-in is a different user.
    other = await (await connect()).auth.sign_in_anonymously()
    assert other.user is not None and other.user.id != user.id


async def test_sign_up_then_sign_in_with_password(server: ServerProcess, connect: Connect) -> None:
    first = await connect()
    signed = await first.auth.sign_up(
        {"email": "Ann@Example.com", "password": PASSWORD, "options": {"data": {"name": "Ann"}}}
    )
    assert signed.session is not None and signed.user is not None
    assert signed.user.email == "ann@example.com" and signed.user.is_anonymous is False
    assert signed.user.user_metadata == {"name": "Ann"} and signed.user.email_confirmed_at is not None
    assert signed.user.app_metadata == {"provider": "email", "providers": ["email"]}
    assert [identity.provider for identity in signed.user.identities or []] == ["email"]

    second = await connect()
    logged_in = await second.auth.sign_in_with_password({"email": "ann@example.com", "password": PASSWORD})
    assert logged_in.session is not None and logged_in.user is not None
    assert logged_in.user.id == signed.user.id
    claims = jwt.decode(
        logged_in.session.access_token, jwt_secret(server), algorithms=["HS256"], audience="authenticated"
    )
    assert claims["email"] == "ann@example.com" and claims["user_metadata"] == {"name": "Ann"}
    assert [entry["method"] for entry in claims["amr"]] == ["password"] and claims["is_anonymous"] is False
    first_claims = jwt.decode(signed.session.access_token, options={"verify_signature": False})
    assert claims["session_id"] != first_claims["session_id"]


async def test_duplicate_sign_up_is_refused(connect: Connect) -> None:
    await signed_up(connect)
    client = await connect()
    with pytest.raises(AuthApiError) as caught:
        await client.auth.sign_up({"email": "ANN@example.com", "password": "another password"})
    assert (caught.value.code, caught.value.status) == ("user_already_exists", 422)
    assert caught.value.message == "User already registered"


async def test_weak_password_and_bad_email_are_refused(connect: Connect) -> None:
    client = await connect()
    with pytest.raises(AuthWeakPasswordError) as weak:
        await client.auth.sign_up({"email": "bo@example.com", "password": "12345"})
    assert (weak.value.code, weak.value.status, weak.value.reasons) == ("weak_password", 422, ["length"])
    with pytest.raises(AuthApiError) as bad:
        await client.auth.sign_up({"email": "not an email", "password": PASSWORD})
    assert (bad.value.code, bad.value.status) == ("validation_failed", 400)


async def test_wrong_password_and_unknown_email_look_the_same(connect: Connect) -> None:
    await signed_up(connect)
    client = await connect()
    for email, password in (("ann@example.com", "wrong password"), ("nobody@example.com", PASSWORD)):
        with pytest.raises(AuthApiError) as caught:
            await client.auth.sign_in_with_password({"email": email, "password": password})
        assert (caught.value.code, caught.value.status) == ("invalid_credentials", 400)
        assert caught.value.message == "Invalid login credentials"


async def test_refresh_rotates_and_detects_reuse(server: ServerProcess, connect: Connect) -> None:
    client = await signed_up(connect)
    first = await client.auth.get_session()
    assert first is not None
    second = (await client.auth.refresh_session()).session
    assert second is not None and second.refresh_token != first.refresh_token
    assert verify_token(second.access_token, jwt_secret(server)).user_id == first.user.id
    # A retry with the token just rotated out (a lost response, two refreshes racing) gets the current one back.
    retried = (await client.auth.refresh_session(first.refresh_token)).session
    assert retried is not None and retried.refresh_token == second.refresh_token

    third = (await client.auth.refresh_session(second.refresh_token)).session
    assert third is not None and third.refresh_token not in (first.refresh_token, second.refresh_token)
    # The first token is now two rotations old: reuse means it leaked, so the whole session's tokens are revoked.
    with pytest.raises(AuthApiError) as reused:
        await client.auth.refresh_session(first.refresh_token)
    assert (reused.value.code, reused.value.status) == ("refresh_token_already_used", 400)
    with pytest.raises(AuthApiError) as revoked:
        await client.auth.refresh_session(third.refresh_token)
    assert revoked.value.code == "refresh_token_already_used"

    with pytest.raises(AuthApiError) as unknown:
        await client.auth.refresh_session("no-such-token")
    assert (unknown.value.code, unknown.value.message) == (
        "refresh_token_not_found",
        "Invalid Refresh Token: Refresh Token Not Found",
    )


async def test_get_user_and_update_metadata(server: ServerProcess, connect: Connect) -> None:
    client = await signed_up(connect, name="Ann")
    fetched = await client.auth.get_user()
    assert fetched is not None and fetched.user.email == "ann@example.com"
    assert fetched.user.user_metadata == {"name": "Ann"}

    updated = await client.auth.update_user({"data": {"name": "Ann B.", "color": "#e11d48"}})
    assert updated.user.user_metadata == {"name": "Ann B.", "color": "#e11d48"}
    updated = await client.auth.update_user({"data": {"color": None}})  # null deletes a key, as in GoTrue
    assert updated.user.user_metadata == {"name": "Ann B."}
    fetched = await client.auth.get_user()
    assert fetched is not None and fetched.user.user_metadata == {"name": "Ann B."}
    # Tokens issued from now on carry the new metadata.
    session = (await client.auth.refresh_session()).session
    assert session is not None
    claims = jwt.decode(session.access_token, jwt_secret(server), algorithms=["HS256"], audience="authenticated")
    assert claims["user_metadata"] == {"name": "Ann B."}


async def test_anonymous_user_becomes_permanent_with_email_and_password(connect: Connect) -> None:
    client = await connect()
    anonymous = await client.auth.sign_in_anonymously({"options": {"data": {"name": "Guest"}}})
    assert anonymous.user is not None
    updated = await client.auth.update_user({"email": "guest@example.com", "password": PASSWORD})
    assert updated.user.id == anonymous.user.id and updated.user.is_anonymous is False
    assert updated.user.email == "guest@example.com" and updated.user.user_metadata == {"name": "Guest"}
    again = await (await connect()).auth.sign_in_with_password({"email": "guest@example.com", "password": PASSWORD})
    assert again.user is not None and again.user.id == anonymous.user.id


async def test_password_change_signs_out_other_sessions(connect: Connect) -> None:
    client = await signed_up(connect)
    other = await connect()
    other_session = (await other.auth.sign_in_with_password({"email": "ann@example.com", "password": PASSWORD})).session
    assert other_session is not None
    with pytest.raises(AuthApiError) as same:
        await client.auth.update_user({"password": PASSWORD})
    assert (same.value.code, same.value.status) == ("same_password", 422)

    await client.auth.update_user({"password": "a new password"})
    assert await client.auth.get_user() is not None  # this session stays
    with pytest.raises(AuthApiError) as gone:
        await other.auth.get_user(other_session.access_token)
    assert gone.value.code == "session_not_found"
    with pytest.raises(AuthApiError) as old:
        await (await connect()).auth.sign_in_with_password({"email": "ann@example.com", "password": PASSWORD})
    assert old.value.code == "invalid_credentials"


async def test_sign_out_revokes_the_session(connect: Connect) -> None:
    client = await signed_up(connect)
    session = await client.auth.get_session()
    assert session is not None
    await client.auth.sign_out()
    assert await client.auth.get_session() is None
    with pytest.raises(AuthApiError) as caught:
        await client.auth.get_user(session.access_token)
    assert (caught.value.code, caught.value.status) == ("session_not_found", 403)
    with pytest.raises(AuthApiError) as refresh:
        await client.auth.refresh_session(session.refresh_token)
    assert refresh.value.code == "refresh_token_not_found"


async def test_sign_out_scopes(connect: Connect) -> None:
    here = await signed_up(connect)
    there = await connect()
    there_session = (await there.auth.sign_in_with_password({"email": "ann@example.com", "password": PASSWORD})).session
    here_session = await here.auth.get_session()
    assert there_session is not None and here_session is not None

    await here.auth.sign_out({"scope": "others"})
    assert (await here.auth.get_user()) is not None
    with pytest.raises(AuthApiError) as caught:
        await there.auth.get_user(there_session.access_token)
    assert caught.value.code == "session_not_found"

    await here.auth.sign_out({"scope": "local"})
    with pytest.raises(AuthApiError) as caught:
        await here.auth.get_user(here_session.access_token)
    assert caught.value.code == "session_not_found"


async def test_forged_and_expired_tokens_are_refused(server: ServerProcess, connect: Connect) -> None:
    client = await signed_up(connect)
    session = await client.auth.get_session()
    assert session is not None
    claims = jwt.decode(session.access_token, jwt_secret(server), algorithms=["HS256"], audience="authenticated")

    forged = jwt.encode(claims, "another secret that is at least 32 bytes long", algorithm="HS256")
    expired = jwt.encode({**claims, "iat": claims["iat"] - 7200, "exp": int(time.time()) - 60}, jwt_secret(server))
    for token in (forged, expired):
        with pytest.raises(AuthApiError) as caught:
            await client.auth.get_user(token)
        assert (caught.value.code, caught.value.status) == ("bad_jwt", 403)
    # The genuine token still works.
    fetched = await client.auth.get_user(session.access_token)
    assert fetched is not None and fetched.user.id == claims["sub"]


async def test_users_and_sessions_survive_a_restart(server: ServerProcess, connect: Connect) -> None:
    client = await signed_up(connect, name="Ann")
    session = await client.auth.get_session()
    assert session is not None
    server.stop()
    again = server.restart()
    try:
        after = await connect(again)
        signed_in = await after.auth.sign_in_with_password({"email": "ann@example.com", "password": PASSWORD})
        assert signed_in.user is not None and signed_in.user.id == session.user.id
        assert signed_in.user.user_metadata == {"name": "Ann"}
        # The session from before the restart is still known: its access and refresh tokens still work.
        fetched = await after.auth.get_user(session.access_token)
        assert fetched is not None and fetched.user.id == session.user.id
        refreshed = (await after.auth.refresh_session(session.refresh_token)).session
        assert refreshed is not None and refreshed.user.id == session.user.id
    finally:
        again.stop()
