"""The auth service's wire format, checked with raw HTTP: error JSON, version header, API-key gate."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from nbrealtime.launcher import ServerProcess

VERSION = {"X-Supabase-Api-Version": "2024-01-01"}


@pytest.fixture
def http(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=f"{server.url}/auth/v1", headers={"apikey": server.anon_key, **VERSION}) as client:
        yield client


def assert_error(response: httpx.Response, status: int, code: str) -> dict[str, object]:
    assert response.status_code == status, response.text
    assert response.headers["x-supabase-api-version"] == "2024-01-01"
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["code"] == code and isinstance(body["message"], str) and body["message"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    return body


def test_error_shape_and_version_header(http: httpx.Client) -> None:
    http.post("/signup", json={"email": "ann@example.com", "password": "secret1"}).raise_for_status()
    response = http.post(
        "/token", params={"grant_type": "password"}, json={"email": "ann@example.com", "password": "x"}
    )
    assert assert_error(response, 400, "invalid_credentials") == {
        "code": "invalid_credentials",
        "message": "Invalid login credentials",
    }
    weak = assert_error(http.post("/signup", json={"email": "bo@example.com", "password": "123"}), 422, "weak_password")
    assert weak["weak_password"] == {"reasons": ["length"]}


def test_success_responses_carry_the_version_header(http: httpx.Client) -> None:
    response = http.post("/signup", json={"data": {}, "gotrue_meta_security": {}})
    assert response.status_code == 200 and response.headers["x-supabase-api-version"] == "2024-01-01"
    session = response.json()
    assert isinstance(session["expires_in"], int) and isinstance(session["expires_at"], int)
    assert session["token_type"] == "bearer" and session["user"]["created_at"].endswith("Z")
    logout = http.post("/logout", headers={"Authorization": f"Bearer {session['access_token']}"})
    assert logout.status_code == 204 and logout.headers["x-supabase-api-version"] == "2024-01-01"


@pytest.mark.parametrize("body", [b"{not json", b"", b"[1, 2]", b'{"email": 5, "password": "secret1"}'])
def test_bad_json_is_a_400_without_a_traceback(http: httpx.Client, body: bytes) -> None:
    response = http.post("/signup", content=body, headers={"Content-Type": "application/json"})
    assert_error(response, 400, "bad_json")


def test_api_key_is_required(server: ServerProcess) -> None:
    missing = httpx.post(f"{server.url}/auth/v1/signup", json={}, headers=VERSION)
    assert_error(missing, 401, "no_authorization")
    wrong = httpx.post(f"{server.url}/auth/v1/signup", json={}, headers={"apikey": "not.a.jwt", **VERSION})
    assert_error(wrong, 401, "bad_jwt")
    # A Bearer API key alone is accepted, as the gateway accepts either.
    bearer = httpx.get(f"{server.url}/auth/v1/settings", headers={"Authorization": f"Bearer {server.anon_key}"})
    assert bearer.status_code == 200


def test_user_endpoint_needs_a_user_token(http: httpx.Client, server: ServerProcess) -> None:
    assert_error(http.get("/user"), 401, "no_authorization")
    # The anon key is a valid JWT but names no user.
    assert_error(http.get("/user", headers={"Authorization": f"Bearer {server.anon_key}"}), 403, "bad_jwt")


def test_unsupported_grant_type_and_unknown_paths(http: httpx.Client) -> None:
    assert_error(http.post("/token", params={"grant_type": "magic"}, json={}), 400, "unsupported_grant_type")
    assert_error(http.post("/token", params={"grant_type": "refresh_token"}, json={}), 400, "validation_failed")
    assert_error(http.get("/no-such-endpoint"), 404, "not_found")
    assert_error(http.get("/signup"), 405, "method_not_allowed")


def test_settings_and_health(http: httpx.Client) -> None:
    settings = http.get("/settings").json()
    assert settings["disable_signup"] is False and settings["mailer_autoconfirm"] is True
    assert settings["external"]["anonymous_users"] is True and settings["external"]["email"] is True
    assert not any(
        enabled for name, enabled in settings["external"].items() if name not in ("anonymous_users", "email")
    )
    assert http.get("/health").status_code == 200
