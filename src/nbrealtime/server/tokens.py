"""Verifying the JWTs that every service accepts: API keys and user access tokens."""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
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
    claims = VERIFIED.get(token, secret)
    if claims.exp is not None and claims.exp <= time.time():
        raise TokenError("InvalidJWTToken", "Token has expired")
    return claims


class _VerifiedTokens:
    """Tokens already verified, most recently used last: verifying an HS256 JWT on every request and frame costs
    more than the rest of a small request. Every sign-in and refresh brings a new token, so expired ones are dropped
    whenever the cache is full, before the least recently used: a long-running server's cache (once an
    ``lru_cache`` of 4,096 tokens, 2.6 KiB each) stays the size of the tokens in use."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._claims: OrderedDict[tuple[str, str], Claims] = OrderedDict()
        self._lock = threading.Lock()  # the database thread verifies too

    def get(self, token: str, secret: str) -> Claims:
        key = (token, secret)
        with self._lock:
            claims = self._claims.get(key)
            if claims is not None:
                self._claims.move_to_end(key)
                return claims
        claims = _decode(token, secret)
        with self._lock:
            self._claims[key] = claims
            if len(self._claims) > self.size:
                now = time.time()
                for stale in [k for k, c in self._claims.items() if c.exp is not None and c.exp <= now]:
                    del self._claims[stale]
                while len(self._claims) > self.size:
                    self._claims.popitem(last=False)
        return claims

    def __len__(self) -> int:
        return len(self._claims)


def _decode(token: str, secret: str) -> Claims:
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


VERIFIED = _VerifiedTokens(1024)
