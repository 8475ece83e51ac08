"""Where the embedded server lives on this machine, and how a kernel finds it.

The server writes a small JSON file (``server.json``) into its data dir when it is ready; kernels read it to get the
URL and keys without any configuration. Both sides import this module; it knows nothing of either.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path

import platformdirs

__all__ = [
    "DiscoveryInfo",
    "default_data_dir",
    "read_discovery",
    "remove_discovery",
    "write_discovery",
    "write_private_file",
]

DATA_DIR_ENV = "NBREALTIME_DATA_DIR"
DISCOVERY_FILE = "server.json"
LOCK_FILE = "server.lock"
"""Held (flock) by the running server for as long as it owns the data dir."""


@dataclass(frozen=True)
class DiscoveryInfo:
    """What a client needs to reach a running embedded server."""

    url: str
    anon_key: str
    service_role_key: str
    pid: int


def default_data_dir() -> Path:
    """``$NBREALTIME_DATA_DIR`` if set, else the per-user data dir (e.g. ``~/.local/share/nbrealtime``)."""
    override = os.environ.get(DATA_DIR_ENV)
    return Path(override) if override else Path(platformdirs.user_data_dir("nbrealtime", appauthor=False))


def write_private_file(path: Path, text: str) -> None:
    """Write ``text`` atomically into a file only the owner can read (0600), whatever the umask."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def write_discovery(data_dir: Path, info: DiscoveryInfo) -> Path:
    path = data_dir / DISCOVERY_FILE
    write_private_file(path, json.dumps(asdict(info), indent=2) + "\n")
    return path


def read_discovery(data_dir: Path | None = None) -> DiscoveryInfo | None:
    """The discovery file's content, or ``None`` if there is no readable one."""
    path = (data_dir or default_data_dir()) / DISCOVERY_FILE
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        return DiscoveryInfo(
            url=str(document["url"]),
            anon_key=str(document["anon_key"]),
            service_role_key=str(document["service_role_key"]),
            pid=int(document["pid"]),
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def remove_discovery(data_dir: Path, pid: int) -> None:
    """Remove the discovery file if it still names ``pid`` (a newer server may have replaced it)."""
    info = read_discovery(data_dir)
    if info is not None and info.pid == pid:
        (data_dir / DISCOVERY_FILE).unlink(missing_ok=True)
