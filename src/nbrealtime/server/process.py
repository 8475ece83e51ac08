"""Running the embedded server as a process: one per data dir, a discovery file, clean shutdown."""

from __future__ import annotations

import fcntl
import importlib.util
import ipaddress
import os
import signal
import socket
import sqlite3
import sys
from pathlib import Path
from typing import IO, Any

import uvicorn

from nbrealtime.discovery import LOCK_FILE, DiscoveryInfo, read_discovery, remove_discovery, write_discovery
from nbrealtime.server.app import create_app
from nbrealtime.server.config import ServerConfig
from nbrealtime.server.keys import load_or_create_keys
from nbrealtime.server.memtrace import install as install_memtrace
from nbrealtime.server.storage import DatabaseError

__all__ = ["AlreadyRunning", "CannotServe", "RemoteBindRefused", "serve"]


class CannotServe(RuntimeError):
    """The server cannot start; the message names what is wrong (data dir, database, address)."""


class AlreadyRunning(CannotServe):
    """Another server holds this data dir."""


class RemoteBindRefused(CannotServe):
    """Binding a non-loopback address was not explicitly allowed."""


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _lock_data_dir(data_dir: Path) -> IO[str]:
    handle = open(data_dir / LOCK_FILE, "a+")  # noqa: SIM115 - held for the life of the process
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        info = read_discovery(data_dir)
        where = f" at {info.url} (pid {info.pid})" if info else ""
        raise AlreadyRunning(
            f"nbrealtime serve is already running for {data_dir}{where}; stop it first or use another --data-dir"
        ) from None
    return handle


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1" if host == "localhost" else host, port))
    sock.set_inheritable(True)
    return sock


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


# Missing only in an environment installed without the declared dependencies: then serve anyway, slower.
_LOOP = "uvloop" if _available("uvloop") else "asyncio"
_HTTP = "httptools" if _available("httptools") else "h11"


# Idle HTTP keep-alive connections are closed after this long. It must stay well above the keep-alive expiry of the
# clients' pools (httpx's is 5 s, the kernel client's too): with equal values a client reuses a connection the
# server is closing at that moment, and a POST fails with a bare ReadError on a healthy server (the soak saw it).
KEEP_ALIVE_SECONDS = 30


class _Server(uvicorn.Server):
    """uvicorn's server, announcing itself once it accepts connections."""

    def __init__(self, config: uvicorn.Config, on_ready: Any) -> None:
        super().__init__(config)
        self._on_ready = on_ready

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if not self.should_exit:
            self._on_ready()


def serve(config: ServerConfig, *, allow_remote: bool = False, out: IO[str] = sys.stdout) -> None:
    """Serve until SIGINT/SIGTERM. Raises :class:`AlreadyRunning` or :class:`RemoteBindRefused`."""
    if not is_loopback(config.host):
        if not allow_remote:
            raise RemoteBindRefused(
                f"refusing to listen on {config.host}: the embedded server is for this machine only. "
                "Pass --allow-remote if you really want other machines to reach it."
            )
        print(
            f"WARNING: listening on {config.host}: anyone who can reach it may try your keys.",
            file=sys.stderr,
        )
    try:
        config.data_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = _lock_data_dir(config.data_dir)
    except OSError as error:
        raise CannotServe(f"cannot use {config.data_dir} as the data dir: {error.strerror}") from None
    try:
        keys = load_or_create_keys(config.data_dir)
        try:
            app = create_app(config, keys)
        except (sqlite3.Error, OSError) as error:
            raise CannotServe(f"cannot open the database {config.database_path}: {error}") from None
        except DatabaseError as error:  # the schema file's tables or seed rows do not fit the stored data
            details = f" ({error.details})" if error.details else ""
            raise CannotServe(f"cannot prepare the tables of {config.schema_file}: {error.message}{details}") from None
        try:
            sock = _bind(config.host, config.port)
        except OSError as error:
            raise CannotServe(f"cannot listen on {config.host}:{config.port}: {error.strerror}") from None
        host, port = sock.getsockname()[:2]
        url = f"http://{f'[{host}]' if ':' in host else host}:{port}"
        info = DiscoveryInfo(url, keys.anon_key, keys.service_role_key, os.getpid())

        def announce() -> None:
            write_discovery(config.data_dir, info)
            print(
                "nbrealtime server started.\n\n"
                f"         API URL: {url}\n"
                f"        anon key: {keys.anon_key}\n"
                f"service_role key: {keys.service_role_key}\n"
                f"        data dir: {config.data_dir}\n\n"
                f"Stop it with Ctrl+C or `kill {os.getpid()}`.",
                file=out,
                flush=True,
            )

        uvicorn_config = uvicorn.Config(
            app,
            log_level="warning",
            # uvloop (libuv, C) runs the event loop and its socket writes; httptools (C) parses HTTP/1.1 instead of
            # pure-Python h11. Both are main dependencies (bench/README.md has the before/after).
            loop=_LOOP,
            http=_HTTP,
            ws="websockets-sansio",
            ws_max_size=2 * config.limits.max_payload_bytes + 1024 * 1024,
            # Compressing every ~200-byte broadcast once per subscriber cost more CPU and memory than it saved.
            ws_per_message_deflate=False,
            lifespan="on",
            timeout_graceful_shutdown=3,
            timeout_keep_alive=KEEP_ALIVE_SECONDS,
        )
        server = _Server(uvicorn_config, announce)
        # uvicorn re-raises the signal it caught once it has shut down; ours keeps the process alive for cleanup.
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, server.handle_exit)
        install_memtrace(out)
        server.run(sockets=[sock])
    finally:
        remove_discovery(config.data_dir, os.getpid())
        lock.close()
    print("nbrealtime server stopped.", file=out, flush=True)
