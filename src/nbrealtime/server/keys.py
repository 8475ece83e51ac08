"""The server's JWT secret and the anon / service_role API keys, generated once per data dir.

Like a Supabase project, the API keys are long-lived HS256 JWTs signed with the project's secret, so the official
clients can pass them as ``apikey`` and ``Authorization`` and every service can verify them the same way.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import jwt

from nbrealtime.discovery import write_private_file

__all__ = ["ProjectKeys", "load_or_create_keys"]

KEYS_FILE = "keys.json"
ISSUER = "nbrealtime"
API_KEY_LIFETIME = 10 * 365 * 24 * 3600


@dataclass(frozen=True)
class ProjectKeys:
    jwt_secret: str
    anon_key: str
    service_role_key: str


def _api_key(secret: str, role: str, issued_at: int) -> str:
    claims = {"iss": ISSUER, "role": role, "iat": issued_at, "exp": issued_at + API_KEY_LIFETIME}
    return jwt.encode(claims, secret, algorithm="HS256")


def load_or_create_keys(data_dir: Path) -> ProjectKeys:
    """Read ``keys.json`` (0600) from ``data_dir``, creating it with a fresh 256-bit secret on first use."""
    path = data_dir / KEYS_FILE
    if path.exists():
        path.chmod(0o600)
        return ProjectKeys(**json.loads(path.read_text(encoding="utf-8")))
    secret = secrets.token_urlsafe(48)
    now = int(time.time())
    keys = ProjectKeys(secret, _api_key(secret, "anon", now), _api_key(secret, "service_role", now))
    write_private_file(path, json.dumps(asdict(keys), indent=2) + "\n")
    return keys
