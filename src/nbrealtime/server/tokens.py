"""Verifying the JWTs that every service accepts: API keys and user access tokens."""

from __future__ import annotations

import functools
import time
from dataclasses import dataclass, field
from typing import Any

import jwt

__all__ = ["ANON", "AUTHENTICATED", "SERVICE_ROLE", "Claims", "TokenError", "verify_token"]

ANON = "anon"
AUTHENTICATED = "authenticated"
SERVICE_ROLE = "service_role"
ROLES = frozenset({ANON, AUTHENTICATED, SERVICE_ROLE})


class TokenError(Exception):
    """A token that must be refused. ``code`` is the realtime error code (``InvalidJWTToken``, …)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


@dataclass(frozen=True)
class Claims:
    """Who is calling: the role row policies see, and the user id for ``auth.uid()``."""

    role: str
    sub: str | None = None
    exp: int | None = None
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @property
    def user_id(self) -> str | None:
        return self.sub if self.role == AUTHENTICATED else None

    @property
    def bypasses_policies(self) -> bool:
        return self.role == SERVICE_ROLE


def verify_token(token: str | None, secret: str) -> Claims:
    """Check signature, expiry and the ``role``/``exp`` claims Realtime requires; raise :class:`TokenError`.

    Every REST request and join carries a token, and clients reuse theirs for an hour: signature checks are cached,
    expiry is checked on every call.
    """
    if not token:
        raise TokenError("InvalidJWTToken", "No API key or access token was given")
    claims = _verified(token, secret)
    if claims.exp is not None and claims.exp <= time.time():
        raise TokenError("InvalidJWTToken", "Token has expired")
    return claims


@functools.lru_cache(maxsize=4096)
def _verified(token: str, secret: str) -> Claims:
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            options={"require": ["exp", "role"], "verify_aud": False},
            leeway=0,
        )
    except jwt.ExpiredSignatureError:
        raise TokenError("InvalidJWTToken", "Token has expired") from None
    except jwt.InvalidSignatureError:
        raise TokenError("JwtSignatureError", "Failed to validate JWT signature") from None
    except jwt.MissingRequiredClaimError:
        raise TokenError("InvalidJWTToken", "Fields `role` and `exp` are required in JWT") from None
    except jwt.DecodeError:
        raise TokenError("MalformedJWT", "The token provided is not a valid JWT") from None
    except jwt.InvalidTokenError as error:
        raise TokenError("InvalidJWTToken", str(error)) from None
    role = claims.get("role")
    if not isinstance(role, str) or role not in ROLES:
        raise TokenError("InvalidJWTToken", f"Unknown role {role!r}")
    sub = claims.get("sub")
    return Claims(role=role, sub=str(sub) if sub else None, exp=int(claims["exp"]), raw=claims)
