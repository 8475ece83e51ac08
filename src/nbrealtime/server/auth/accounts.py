"""Creating users and changing them: sign-up (anonymous or email + password), password sign-in, user updates."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from nbrealtime.server.auth import store
from nbrealtime.server.auth.errors import AuthError
from nbrealtime.server.auth.passwords import check_strength, hash_password, verify_password
from nbrealtime.server.auth.requests import normalise_email, object_field, string_field
from nbrealtime.server.auth.sessions import start_session
from nbrealtime.server.auth.store import Session, User
from nbrealtime.server.auth.views import user_json

if TYPE_CHECKING:
    from nbrealtime.server.app import ServerContext

__all__ = [
    "email_exists",
    "merge_metadata",
    "set_email",
    "sign_in_with_password",
    "sign_up",
    "update_user",
    "user_transaction",
]


def _user_exists() -> AuthError:
    return AuthError(422, "user_already_exists", "User already registered")


def email_exists() -> AuthError:
    return AuthError(422, "email_exists", "A user with this email address has already been registered")


def _invalid_login() -> AuthError:
    return AuthError(400, "invalid_credentials", "Invalid login credentials")


def _no_phone(phone: str) -> None:
    if phone:
        raise AuthError(422, "phone_provider_disabled", "Phone signups are disabled")


async def sign_up(context: ServerContext, issuer: str, body: dict[str, Any]) -> dict[str, Any]:
    """``POST /signup``: no email and no phone means an anonymous user. Either way the answer is a session."""
    email, phone, password = (string_field(body, name) for name in ("email", "phone", "password"))
    metadata = object_field(body, "data") or {}
    user = User(id=str(uuid.uuid4()), user_metadata=metadata)
    if not email and not phone:
        if not context.config.anonymous_sign_ins:
            raise AuthError(422, "anonymous_provider_disabled", "Anonymous sign-ins are disabled")
        user.is_anonymous = True
        user.app_metadata = {"provider": "anonymous", "providers": ["anonymous"]}
        with context.database.transaction() as connection:
            store.insert_user(connection, user)
            return start_session(connection, context, issuer, user, "anonymous")
    if email and phone:
        raise AuthError(422, "validation_failed", "Only an email address or phone number should be provided on signup.")
    _no_phone(phone)
    if not password:
        raise AuthError(422, "validation_failed", "Signup requires a valid password")
    check_strength(password)
    user.email = normalise_email(email)
    if store.find_user_by_email(context.database.connection, user.email) is not None:
        raise _user_exists()
    user.encrypted_password = await asyncio.to_thread(hash_password, password)
    user.app_metadata = {"provider": "email", "providers": ["email"]}
    user.email_confirmed_at = user.created_at  # mailer autoconfirm: there is no mail to confirm with
    try:
        with context.database.transaction() as connection:
            store.insert_user(connection, user)
            return start_session(connection, context, issuer, user, "password")
    except sqlite3.IntegrityError:  # the same email signed up while this one was hashing
        raise _user_exists() from None


async def sign_in_with_password(context: ServerContext, issuer: str, body: dict[str, Any]) -> dict[str, Any]:
    """``grant_type=password``. Unknown email and wrong password look the same, in answer and in timing."""
    email, phone, password = (string_field(body, name) for name in ("email", "phone", "password"))
    if email and phone:
        raise AuthError(400, "validation_failed", "Only an email address or phone number should be provided on login.")
    if phone:
        raise AuthError(400, "phone_provider_disabled", "Phone logins are disabled")
    if not email:
        raise AuthError(400, "validation_failed", "missing email or phone")
    user = store.find_user_by_email(context.database.connection, email.strip().lower())
    encrypted = user.encrypted_password if user else None
    if not await asyncio.to_thread(verify_password, password, encrypted) or user is None:
        raise _invalid_login()
    if user.email_confirmed_at is None:  # created by auth.admin without email_confirm
        raise AuthError(400, "email_not_confirmed", "Email not confirmed")
    with context.database.transaction() as connection:
        current = store.find_user(connection, user.id)
        if current is None or current.encrypted_password != encrypted:  # deleted or re-passworded meanwhile
            raise _invalid_login()
        return start_session(connection, context, issuer, current, "password")


def merge_metadata(metadata: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
    """GoTrue's rule for ``data``: keys are set, ``null`` deletes a key."""
    merged = dict(metadata)
    for key, value in changes.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    return merged


@contextlib.contextmanager
def user_transaction(context: ServerContext) -> Iterator[sqlite3.Connection]:
    """A transaction that writes a user: an email taken meanwhile (the unique index) is GoTrue's 422."""
    try:
        with context.database.transaction() as connection:
            yield connection
    except sqlite3.IntegrityError:
        raise email_exists() from None


def set_email(user: User, email: str, now: str) -> None:
    """Confirmed at once (autoconfirm); an anonymous user with an email becomes a permanent one."""
    user.email, user.email_confirmed_at = email, now
    providers = [p for p in user.app_metadata.get("providers", []) if p != "anonymous"]
    if "email" not in providers:
        providers.append("email")
    user.app_metadata = {**user.app_metadata, "providers": providers}
    if user.is_anonymous:
        user.is_anonymous = False
        user.app_metadata["provider"] = "email"


async def update_user(
    context: ServerContext, user: User, session: Session | None, body: dict[str, Any]
) -> dict[str, Any]:
    """``PUT /user``: ``data`` (merged into user_metadata), ``email``, ``password``. Returns the User JSON."""
    email, phone, password = (string_field(body, name) for name in ("email", "phone", "password"))
    metadata = object_field(body, "data")
    _no_phone(phone)
    new_email = normalise_email(email) if email else None
    new_hash = None
    if password:
        check_strength(password)
        if user.is_anonymous and not new_email:
            raise AuthError(
                422,
                "validation_failed",
                "Updating password of an anonymous user without an email or phone is not allowed",
            )
        if user.encrypted_password and await asyncio.to_thread(verify_password, password, user.encrypted_password):
            raise AuthError(422, "same_password", "New password should be different from the old password.")
        new_hash = await asyncio.to_thread(hash_password, password)
    now = store.now_rfc3339()
    with user_transaction(context) as connection:
        current = store.find_user(connection, user.id)
        if current is None:
            raise AuthError(403, "user_not_found", "User from sub claim in JWT does not exist")
        if new_email and new_email != current.email:
            if store.find_user_by_email(connection, new_email) is not None:
                raise email_exists()
            set_email(current, new_email, now)
        if new_hash is not None:
            current.encrypted_password = new_hash
            # As GoTrue: a new password signs out every other session of the user.
            store.delete_sessions(connection, current.id, keep=session.id if session else None)
        if metadata is not None:
            current.user_metadata = merge_metadata(current.user_metadata, metadata)
        current.updated_at = now
        store.save_user(connection, current)
    return user_json(current)
