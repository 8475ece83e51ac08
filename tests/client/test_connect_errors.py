"""``connect()`` at the edges a user meets: each failure is one ConnectionFailed paragraph with no exception chain."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

import nbrealtime
from nbrealtime.launcher import ServerProcess
from tests.test_demo import free_port


@pytest.fixture(autouse=True)
def _own_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Identities for explicit URLs are stored in the data dir: keep them out of the user's."""
    monkeypatch.setenv("NBREALTIME_DATA_DIR", str(tmp_path / "identities"))
    for variable in ("SUPABASE_URL", "SUPABASE_ANON_KEY"):
        monkeypatch.delenv(variable, raising=False)


def failure(url: str, key: str) -> str:
    with pytest.raises(nbrealtime.ConnectionFailed) as raised:
        nbrealtime.connect("edges", user="alice", url=url, key=key, timeout=30)
    error = raised.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__), "no chain shown"
    assert error._render_traceback_() == [f"ConnectionFailed: {error}"], "IPython shows the paragraph alone"
    assert "\n" not in str(error)
    return str(error)


def test_an_url_where_nothing_listens_is_named(server: ServerProcess) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    message = failure(url, server.anon_key)
    assert message.startswith(f"nothing answers at {url} (")
    assert "anonymous" not in message


def test_a_wrong_key_is_said_to_be_refused(server: ServerProcess) -> None:
    message = failure(server.url, "not-the-key")
    assert message.startswith(f"the server at {server.url} refused the API key (Invalid API key)")
    assert "anonymous" not in message


@pytest.mark.parametrize("url", ["127.0.0.1:54321", "localhost", "http://", "ftp://example.org", "http://host:port"])
def test_a_malformed_url_is_echoed(url: str) -> None:
    assert failure(url, "key") == (
        f"{url!r} is not a Supabase project URL: expected one like http://127.0.0.1:54321 or https://PROJECT.supabase.co."
    )


def test_an_url_with_a_path_names_the_project_url(server: ServerProcess) -> None:
    message = failure(f"{server.url}/rest/v1", server.anon_key)
    assert message.startswith(f"'{server.url}/rest/v1' has a path: give the project URL alone ('{server.url}')")


def test_only_a_project_without_anonymous_sign_ins_gets_that_hint(start) -> None:
    closed = start("--no-anonymous-sign-ins")
    settings = httpx.get(f"{closed.url}/auth/v1/settings", headers={"apikey": closed.anon_key}, timeout=10).json()
    assert settings["external"]["anonymous_users"] is False, "the server says so, as Supabase's settings do"
    message = failure(closed.url, closed.anon_key)
    assert message.startswith(f"the project at {closed.url} has anonymous sign-ins disabled")
    assert "Authentication → Sign In / Providers → Allow anonymous sign-ins" in message


def test_a_url_without_a_key_says_which_half_is_missing() -> None:
    with pytest.raises(nbrealtime.ConnectionFailed, match=r"only SUPABASE_URL / url= is set"):
        nbrealtime.connect("edges", user="alice", url="http://127.0.0.1:1")
