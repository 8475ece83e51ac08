"""``nbrealtime serve`` as a process: discovery file, keys, one server per data dir, clean shutdown."""

from __future__ import annotations

import json
import select
import socket
import stat
import subprocess
import sys
from pathlib import Path

import httpx

from nbrealtime.client.session import KEEPALIVE_EXPIRY
from nbrealtime.launcher import ServerProcess
from nbrealtime.server.process import KEEP_ALIVE_SECONDS


def test_discovery_and_key_files_are_private(server: ServerProcess) -> None:
    for name in ("server.json", "keys.json"):
        mode = stat.S_IMODE((server.data_dir / name).stat().st_mode)
        assert mode == 0o600, f"{name} has mode {oct(mode)}"
    document = json.loads((server.data_dir / "server.json").read_text())
    assert set(document) == {"url", "anon_key", "service_role_key", "pid"}
    assert document["url"].startswith("http://127.0.0.1:")
    assert httpx.get(f"{server.url}/health").json()["status"] == "ok"


def test_second_server_on_same_data_dir_says_one_is_running(server: ServerProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nbrealtime", "serve", "--port", "0", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "already running" in result.stderr and server.url in result.stderr


def test_keys_command_prints_supabase_lines(server: ServerProcess) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nbrealtime", "keys", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    assert result.stdout.splitlines() == [
        f"SUPABASE_URL={server.url}",
        f"SUPABASE_ANON_KEY={server.anon_key}",
        f"SUPABASE_SERVICE_ROLE_KEY={server.service_role_key}",
    ]


def test_keys_without_a_running_server_says_so_and_creates_nothing(tmp_path: Path) -> None:
    new_dir = tmp_path / "new"
    result = subprocess.run(
        [sys.executable, "-m", "nbrealtime", "keys", "--data-dir", str(new_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.startswith(f"nbrealtime keys: no nbrealtime server is running for the data dir {new_dir}.")
    assert f"nbrealtime serve --data-dir {new_dir}" in result.stderr
    assert not new_dir.exists(), "no keys were made for a data dir no server uses"


def test_keys_after_the_server_stopped_says_none_runs(server: ServerProcess) -> None:
    server.kill()  # a crash leaves the discovery file behind, naming a server that no longer answers
    result = subprocess.run(
        [sys.executable, "-m", "nbrealtime", "keys", "--data-dir", str(server.data_dir)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1 and "no nbrealtime server is running" in result.stderr


def test_sigterm_shuts_down_cleanly_and_removes_discovery(server: ServerProcess) -> None:
    assert server.stop() == 0
    assert not (server.data_dir / "server.json").exists()
    assert "nbrealtime server stopped." in (server.data_dir / "server.log").read_text()


def test_keys_survive_restart(server: ServerProcess) -> None:
    server.stop()
    again = server.restart()
    try:
        assert (again.anon_key, again.service_role_key) == (server.anon_key, server.service_role_key)
    finally:
        again.stop()


def test_refuses_non_loopback_host_unless_allowed(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "nbrealtime", "serve", "--host", "0.0.0.0", "--port", "0", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "refusing to listen on 0.0.0.0" in result.stderr


def _get_health(sock: socket.socket) -> bytes:
    """One ``GET /health`` on an open keep-alive connection; returns the status line."""
    sock.sendall(b"GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "the server closed the connection instead of answering"
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    length = next(int(line.split(b":")[1]) for line in lines if line.lower().startswith(b"content-length"))
    while len(body) < length:
        body += sock.recv(65536)
    return lines[0]


def test_an_idle_connection_outlives_the_clients_keep_alive_expiry(server: ServerProcess) -> None:
    """A kernel's pool reuses a connection idle for up to KEEPALIVE_EXPIRY; the server must still have it open then
    (equal timeouts made one soak ``notify`` fail with a bare httpx.ReadError on a healthy server)."""
    assert KEEP_ALIVE_SECONDS >= 2 * KEEPALIVE_EXPIRY
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        assert _get_health(sock).endswith(b"200 OK")
        closed, _, _ = select.select([sock], [], [], KEEPALIVE_EXPIRY + 0.5)  # idle as long as a client reuses it
        assert not closed, "the server closed the idle connection while a client may still reuse it"
        assert _get_health(sock).endswith(b"200 OK")
