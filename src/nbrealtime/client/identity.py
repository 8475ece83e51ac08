"""Who "alice" is on a backend, remembered across cell re-runs and kernel restarts.

The first ``connect(user="alice")`` signs in anonymously and stores the refresh token (0600) under the data dir;
later connects — in this kernel, after a restart, or in another notebook on this machine — refresh from it and so
keep the same user id. Refresh tokens rotate on every use, so the file is locked while one is being spent.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

from nbrealtime.discovery import write_private_file

__all__ = ["IdentityStore", "StoredIdentity"]


@dataclass(frozen=True)
class StoredIdentity:
    user_id: str
    refresh_token: str


class IdentityStore:
    """One user name's identity on one backend."""

    @staticmethod
    def backend_folder(backend_url: str) -> str:
        """One folder name per backend, for files kept per backend (identities, outboxes)."""
        return hashlib.sha256(backend_url.encode()).hexdigest()[:16]

    def __init__(self, data_dir: Path, backend_url: str, name: str) -> None:
        backend = self.backend_folder(backend_url)
        safe_name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:64] or "_"
        digest = hashlib.sha256(name.encode()).hexdigest()[:8]
        self.path = data_dir / "identities" / backend / f"{safe_name}-{digest}.json"

    @contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the identity while reading, spending and replacing its refresh token."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with open(self.path.with_suffix(".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def load(self) -> StoredIdentity | None:
        try:
            document = json.loads(self.path.read_text(encoding="utf-8"))
            return StoredIdentity(str(document["user_id"]), str(document["refresh_token"]))
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def save(self, identity: StoredIdentity) -> None:
        write_private_file(self.path, json.dumps(asdict(identity)) + "\n")
