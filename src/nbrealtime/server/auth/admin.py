"""``/auth/v1/admin/users``: what ``supabase.auth.admin`` calls with the service-role key (a teacher's setup script).

Create (email + password, or email alone with a generated password; ``email_confirm``, ``user_metadata``,
``app_metadata``, an explicit ``id``), list (``page``/``per_page``, newest first, ``X-Total-Count`` and ``Link``
headers), get, update (email, password, metadata merged key by key with ``null`` deleting, ``email_confirm``) and
delete (sessions go with the user) — with GoTrue's answers and errors (``internal/api/admin.go``).  GoTrue refuses a
user without email or phone here too; anonymous users come from ``signInAnonymously``.  Every other role gets
``403 not_admin``.  Phone numbers, roles, bans and password hashes are refused with one clear error each.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
import uuid
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from nbrealtime.server.auth import store
from nbrealtime.server.auth.accounts import email_exists, merge_metadata, set_email, user_transaction
from nbrealtime.server.auth.errors import AuthError
from nbrealtime.server.auth.passwords import check_strength, hash_password
from nbrealtime.server.auth.requests import bearer_token, normalise_email, object_field, read_json, string_field
from nbrealtime.server.auth.views import user_json
from nbrealtime.server.tokens import SERVICE_ROLE, TokenError, verify_token

if TYPE_CHECKING:
    from nbrealtime.server.app import ServerContext

__all__ = ["create_user", "delete_user", "get_user", "list_users", "update_user"]

_ADMIN_ROLES = (SERVICE_ROLE, "supabase_admin")
_UNSUPPORTED = ("phone", "role", "ban_duration", "password_hash", "phone_confirm")


def require_admin(request: Request, context: ServerContext) -> None:
    """GoTrue's ``requireAdmin``: a Bearer token whose role is an admin role."""
    token = bearer_token(request)
    if token is None:
        raise AuthError(401, "no_authorization", "This endpoint requires a Bearer token")
    try:
        claims = verify_token(token, context.keys.jwt_secret)
    except TokenError as error:
        raise AuthError(403, "bad_jwt", f"invalid JWT: unable to parse or verify signature, {error.message}") from None
    if claims.role not in _ADMIN_ROLES:
        raise AuthError(403, "not_admin", "User not allowed")


def _refuse_unsupported(body: dict[str, Any]) -> None:
    for name in _UNSUPPORTED:
        if body.get(name) not in (None, "", False):
            raise AuthError(
                400, "validation_failed", f"nbrealtime's auth server does not support {name} on admin users"
            )


def _user_id(request: Request) -> str:
    try:
        return str(uuid.UUID(request.path_params["user_id"]))
    except ValueError:
        raise AuthError(400, "validation_failed", "user_id must be an UUID") from None


def _load(connection: sqlite3.Connection, user_id: str) -> store.User:
    user = store.find_user(connection, user_id)
    if user is None:
        raise AuthError(404, "user_not_found", "User not found")
    return user


async def _password_hash(body: dict[str, Any]) -> str | None:
    if "password" not in body or body["password"] is None:
        return None
    password = string_field(body, "password")
    check_strength(password)
    return await asyncio.to_thread(hash_password, password)


async def create_user(request: Request, context: ServerContext) -> Response:
    require_admin(request, context)
    body = await read_json(request)
    _refuse_unsupported(body)
    email = string_field(body, "email")
    if not email:
        raise AuthError(400, "validation_failed", "Cannot create a user without either an email or phone")
    user = store.User(
        id=string_field(body, "id") or str(uuid.uuid4()),
        email=normalise_email(email),
        user_metadata=object_field(body, "user_metadata") or {},
        app_metadata={"provider": "email", "providers": ["email"]},
    )
    user.app_metadata = merge_metadata(user.app_metadata, object_field(body, "app_metadata") or {})
    if body.get("email_confirm") is True:
        user.email_confirmed_at = user.created_at
    given = await _password_hash(body)
    user.encrypted_password = given or await asyncio.to_thread(hash_password, secrets.token_urlsafe(48))
    with user_transaction(context) as connection:
        if store.find_user_by_email(connection, user.email) is not None:  # type: ignore[arg-type]
            raise email_exists()
        if store.find_user(connection, user.id) is not None:
            raise AuthError(422, "user_already_exists", "User already registered")
        store.insert_user(connection, user)
    return JSONResponse(user_json(user))


async def list_users(request: Request, context: ServerContext) -> Response:
    require_admin(request, context)
    page, per_page = (_positive(request, name, default) for name, default in (("page", 1), ("per_page", 50)))
    connection = context.database.connection
    total = connection.execute(f"SELECT COUNT(*) FROM {store.USERS}").fetchone()[0]
    rows = connection.execute(
        f"SELECT id FROM {store.USERS} ORDER BY created_at DESC, id LIMIT ? OFFSET ?", (per_page, (page - 1) * per_page)
    ).fetchall()
    users = [user_json(_load(connection, row[0])) for row in rows]
    last = max(1, -(-total // per_page))
    links = [f'</admin/users?page={last}&per_page={per_page}>; rel="last"']
    if page < last:
        links.insert(0, f'</admin/users?page={page + 1}&per_page={per_page}>; rel="next"')
    headers = {"X-Total-Count": str(total), "Link": ", ".join(links)}
    return JSONResponse({"users": users, "aud": "authenticated"}, headers=headers)


def _positive(request: Request, name: str, default: int) -> int:
    text = request.query_params.get(name)
    if text in (None, ""):
        return default
    if not text.isdigit() or int(text) < 1:
        raise AuthError(400, "validation_failed", f"Bad Pagination Parameters: {name} must be a positive integer")
    return int(text)


async def get_user(request: Request, context: ServerContext) -> Response:
    require_admin(request, context)
    return JSONResponse(user_json(_load(context.database.connection, _user_id(request))))


async def update_user(request: Request, context: ServerContext) -> Response:
    require_admin(request, context)
    user_id = _user_id(request)
    body = await read_json(request)
    _refuse_unsupported(body)
    email = string_field(body, "email")
    new_email = normalise_email(email) if email else None
    new_hash = await _password_hash(body)
    user_metadata, app_metadata = object_field(body, "user_metadata"), object_field(body, "app_metadata")
    now = store.now_rfc3339()
    with user_transaction(context) as connection:
        user = _load(connection, user_id)
        if new_email and new_email != user.email:
            if store.find_user_by_email(connection, new_email) is not None:
                raise email_exists()
            set_email(user, new_email, now)
        if body.get("email_confirm") is True and user.email and not user.email_confirmed_at:
            user.email_confirmed_at = now
        if new_hash is not None:
            user.encrypted_password = new_hash
        if user_metadata is not None:
            user.user_metadata = merge_metadata(user.user_metadata, user_metadata)
        if app_metadata is not None:
            user.app_metadata = merge_metadata(user.app_metadata, app_metadata)
        user.updated_at = now
        store.save_user(connection, user)
    return JSONResponse(user_json(user))


async def delete_user(request: Request, context: ServerContext) -> Response:
    """Hard delete (``should_soft_delete`` is refused: there is nothing to keep a soft-deleted user for here)."""
    require_admin(request, context)
    user_id = _user_id(request)
    body = await read_json(request) if await request.body() else {}
    if body.get("should_soft_delete") is True:
        raise AuthError(400, "validation_failed", "nbrealtime's auth server does not soft-delete users")
    with context.database.transaction() as connection:
        _load(connection, user_id)
        store.delete_user(connection, user_id)
    return JSONResponse({})
