"""Sessions: signing in, refresh-token rotation, who a Bearer token belongs to, signing out."""

from __future__ import annotations

import sqlite3
import time
from typing import TYPE_CHECKING, Any

from starlette.requests import Request

from nbrealtime.server.auth import store
from nbrealtime.server.auth.errors import AuthError
from nbrealtime.server.auth.jwts import decode_access_token, mint_access_token
from nbrealtime.server.auth.requests import bearer_token
from nbrealtime.server.auth.store import Session, User
from nbrealtime.server.auth.views import session_json

if TYPE_CHECKING:
    from nbrealtime.server.app import ServerContext

__all__ = ["LOGOUT_SCOPES", "REUSE_INTERVAL", "authenticate", "refresh_session", "sign_out", "start_session"]

# A rotated-out token may be presented again this long afterwards and gets the session's current token back:
# supabase-py can refresh twice at once (its timer and get_session() both fire near expiry), and a response can
# be lost. GoTrue has the same grace (GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL, 10 s).
REUSE_INTERVAL = 10.0
LOGOUT_SCOPES = ("global", "local", "others")


def _respond(context: ServerContext, issuer: str, user: User, session: Session, refresh_token: str) -> dict[str, Any]:
    lifetime = context.config.access_token_lifetime
    access_token, expires_at = mint_access_token(context.keys.jwt_secret, issuer, user, session, lifetime)
    return session_json(access_token, expires_at, lifetime, refresh_token, user)


def start_session(
    connection: sqlite3.Connection, context: ServerContext, issuer: str, user: User, method: str
) -> dict[str, Any]:
    """Sign ``user`` in (inside the caller's transaction): a new session, its refresh token, an access token."""
    user.last_sign_in_at = store.now_rfc3339()
    store.save_user(connection, user)
    session, refresh_token = store.create_session(connection, user.id, method, int(time.time()))
    return _respond(context, issuer, user, session, refresh_token)


def refresh_session(context: ServerContext, issuer: str, refresh_token: str) -> dict[str, Any]:
    """``grant_type=refresh_token``: rotate the token; a reused one revokes the session's tokens (theft guard)."""
    if not refresh_token:
        raise AuthError(400, "validation_failed", "refresh_token required")
    now = time.time()
    with context.database.transaction() as connection:
        token = store.find_refresh_token(connection, refresh_token)
        session = store.find_session(connection, token.session_id) if token else None
        user = store.find_user(connection, session.user_id) if session else None
        if token is None or session is None or user is None:
            raise AuthError(400, "refresh_token_not_found", "Invalid Refresh Token: Refresh Token Not Found")
        if token.revoked_at is None:
            return _respond(context, issuer, user, session, store.rotate_refresh_token(connection, token, now))
        active = store.active_refresh_token(connection, session.id)
        if active is not None and active.parent == token.token and now - token.revoked_at <= REUSE_INTERVAL:
            return _respond(context, issuer, user, session, active.token)
        store.revoke_session_tokens(connection, session.id, now)
    # Raised after the block so that the revocation above is committed.
    raise AuthError(400, "refresh_token_already_used", "Invalid Refresh Token: Already Used")


def authenticate(request: Request, context: ServerContext) -> tuple[User, Session | None]:
    """The user (and session) of the request's Bearer access token, with GoTrue's 401/403 errors."""
    token = bearer_token(request)
    if token is None:
        raise AuthError(401, "no_authorization", "This endpoint requires a valid Bearer token")
    claims = decode_access_token(token, context.keys.jwt_secret)
    connection = context.database.connection
    user = store.find_user(connection, str(claims["sub"]))
    if user is None:
        raise AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
    session = None
    if claims.get("session_id"):
        session = store.find_session(connection, str(claims["session_id"]))
        if session is None or session.user_id != user.id:
            raise AuthError(403, "session_not_found", "Session from session_id claim in JWT does not exist")
    return user, session


def sign_out(context: ServerContext, user: User, session: Session | None, scope: str) -> None:
    """``global``: every session of the user; ``local``: this one; ``others``: all but this one."""
    if scope not in LOGOUT_SCOPES:
        raise AuthError(400, "validation_failed", f"Unsupported logout scope {scope!r}")
    with context.database.transaction() as connection:
        if scope == "local" and session is not None:
            store.delete_sessions(connection, user.id, only=session.id)
        elif scope == "others":
            store.delete_sessions(connection, user.id, keep=session.id if session else None)
        else:
            store.delete_sessions(connection, user.id)
