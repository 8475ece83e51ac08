"""Password hashing (scrypt, random salt) and GoTrue's password rules.

Hashing takes tens of milliseconds on purpose; callers run it in a worker thread so the event loop that serves
realtime traffic is not stalled.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import secrets

from nbrealtime.server.auth.errors import AuthError

__all__ = ["MIN_LENGTH", "check_strength", "hash_password", "verify_password"]

MIN_LENGTH = 6  # GoTrue's default GOTRUE_PASSWORD_MIN_LENGTH
MAX_BYTES = 72  # GoTrue's limit (bcrypt's); kept so passwords accepted here are accepted by Supabase too
_N, _R, _P, _KEY_BYTES = 2**14, 8, 1, 32


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _derive(password: str, salt: bytes, n: int, r: int, p: int, length: int) -> bytes:
    return hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, maxmem=2**26, dklen=length)


def hash_password(password: str) -> str:
    """``scrypt$n$r$p$salt$key``: the parameters travel with the hash so they can be raised later."""
    salt = secrets.token_bytes(16)
    key = _derive(password, salt, _N, _R, _P, _KEY_BYTES)
    return f"scrypt${_N}${_R}${_P}${_b64(salt)}${_b64(key)}"


@functools.cache
def _dummy_hash() -> str:
    """A hash of a password nobody knows, checked when there is no real one so timing hides unknown emails."""
    return hash_password(secrets.token_urlsafe(16))


def verify_password(password: str, encoded: str | None) -> bool:
    """Constant-time check; ``encoded=None`` (no such user, or no password) still costs one hash and fails."""
    if encoded is None:
        verify_password(password, _dummy_hash())
        return False
    try:
        scheme, n, r, p, salt, key = encoded.split("$")
        expected = base64.b64decode(key)
        actual = _derive(password, base64.b64decode(salt), int(n), int(r), int(p), len(expected))
    except (ValueError, TypeError):
        return False
    return scheme == "scrypt" and hmac.compare_digest(actual, expected)


def check_strength(password: str) -> None:
    """Raise GoTrue's errors for a password it would refuse (422 ``weak_password``, 400 ``validation_failed``)."""
    if len(password.encode("utf-8")) > MAX_BYTES:
        raise AuthError(400, "validation_failed", f"Password cannot be longer than {MAX_BYTES} characters")
    if len(password) < MIN_LENGTH:
        raise AuthError(
            422,
            "weak_password",
            f"Password should be at least {MIN_LENGTH} characters.",
            weak_password={"reasons": ["length"]},
        )
