"""The verified-token cache: a long-running server sees a new token at every sign-in and refresh; the cache must
stay the size of the tokens in use (the soak's RSS grew with an ``lru_cache`` of 4,096 of them)."""

from __future__ import annotations

import time
import uuid

import jwt
import pytest

from nbrealtime.server import tokens
from nbrealtime.server.tokens import TokenError, _VerifiedTokens

SECRET = "a-test-secret-of-at-least-thirty-two-bytes"


def _token(lifetime: int) -> str:
    claims = {"role": "authenticated", "exp": int(time.time()) + lifetime, "sub": str(uuid.uuid4())}
    return jwt.encode(claims, SECRET, algorithm="HS256")


def test_expired_tokens_leave_the_cache_before_live_ones_and_it_never_outgrows_its_size(monkeypatch) -> None:
    cache = _VerifiedTokens(3)
    live = _token(3600)
    cache.get(live, SECRET)
    for _ in range(2):
        cache.get(_token(60), SECRET)
    later = time.time() + 120  # two minutes on: the 60-second tokens have expired
    monkeypatch.setattr(tokens.time, "time", lambda: later)
    cache.get(_token(3600), SECRET)
    assert len(cache) == 2, "the two expired tokens went, the oldest live one stayed"
    assert cache.get(live, SECRET).sub is not None and len(cache) == 2
    for _ in range(10):
        cache.get(_token(3600), SECRET)
    assert len(cache) == 3


def test_a_refused_token_is_not_cached_and_stays_refused() -> None:
    cache = _VerifiedTokens(3)
    forged = jwt.encode({"role": "service_role", "exp": int(time.time()) + 60}, "another-secret-of-thirty-two-bytes!")
    for _ in range(2):
        with pytest.raises(TokenError, match="JwtSignatureError"):
            cache.get(forged, SECRET)
    assert len(cache) == 0
