"""User access tokens: GoTrue's claims, HS256 with the project secret, so every service verifies them alike."""

from __future__ import annotations

import time
from typing import Any

import jwt

from nbrealtime.server.auth.errors import AuthError
from nbrealtime.server.auth.store import Session, User
from nbrealtime.server.tokens import AUTHENTICATED

__all__ = ["decode_access_token", "mint_access_token"]

AUDIENCE = "authenticated"


def mint_access_token(secret: str, issuer: str, user: User, session: Session, lifetime: int) -> tuple[str, int]:
    """The signed token and its ``exp`` (unix seconds)."""
    issued_at = int(time.time())
    expires_at = issued_at + lifetime
    claims = {
        "iss": issuer,
        "sub": user.id,
        "aud": AUDIENCE,
        "exp": expires_at,
        "iat": issued_at,
        "email": user.email or "",
        "phone": "",
        "app_metadata": user.app_metadata,
        "user_metadata": user.user_metadata,
        "role": AUTHENTICATED,
        "aal": "aal1",
        "amr": session.amr,
        "session_id": session.id,
        "is_anonymous": user.is_anonymous,
    }
    return jwt.encode(claims, secret, algorithm="HS256"), expires_at


def decode_access_token(token: str, secret: str) -> dict[str, Any]:
    """Verified claims of a Bearer token, or GoTrue's 403 ``bad_jwt``."""
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp"], "verify_aud": False}, leeway=0
        )
    except jwt.InvalidTokenError as error:
        raise AuthError(403, "bad_jwt", f"invalid JWT: unable to parse or verify signature, {error}") from None
    if not claims.get("sub"):
        raise AuthError(403, "bad_jwt", "invalid claim: missing sub claim")
    return claims
