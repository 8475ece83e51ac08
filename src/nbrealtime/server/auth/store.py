"""Users, sessions and refresh tokens in private SQLite tables.

The tables start with ``_`` so the data API, which serves only declared tables, never exposes them. Functions take
the connection (usually inside ``database.transaction()``) and never commit on their own.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from nbrealtime.server.database import Database

__all__ = [
    "RefreshToken",
    "Session",
    "User",
    "active_refresh_token",
    "create_session",
    "delete_sessions",
    "delete_user",
    "ensure_tables",
    "find_refresh_token",
    "find_session",
    "find_user",
    "find_user_by_email",
    "insert_user",
    "now_rfc3339",
    "revoke_session_tokens",
    "rotate_refresh_token",
    "save_user",
]

USERS = "_auth_users"
SESSIONS = "_auth_sessions"
REFRESH_TOKENS = "_auth_refresh_tokens"

_SCHEMA = (
    f"""CREATE TABLE IF NOT EXISTS {USERS} (
        id TEXT PRIMARY KEY,
        email TEXT UNIQUE,
        encrypted_password TEXT,
        is_anonymous INTEGER NOT NULL DEFAULT 0,
        app_metadata TEXT NOT NULL DEFAULT '{{}}',
        user_metadata TEXT NOT NULL DEFAULT '{{}}',
        email_confirmed_at TEXT,
        last_sign_in_at TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL)""",
    f"""CREATE TABLE IF NOT EXISTS {SESSIONS} (
        id TEXT PRIMARY KEY,
        user_id TEXT NOT NULL REFERENCES {USERS}(id) ON DELETE CASCADE,
        amr TEXT NOT NULL,
        created_at TEXT NOT NULL,
        refreshed_at TEXT)""",
    f"CREATE INDEX IF NOT EXISTS {SESSIONS}_user ON {SESSIONS}(user_id)",
    f"""CREATE TABLE IF NOT EXISTS {REFRESH_TOKENS} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        token TEXT NOT NULL UNIQUE,
        session_id TEXT NOT NULL REFERENCES {SESSIONS}(id) ON DELETE CASCADE,
        parent TEXT,
        revoked_at REAL,
        created_at TEXT NOT NULL)""",
    f"CREATE INDEX IF NOT EXISTS {REFRESH_TOKENS}_session ON {REFRESH_TOKENS}(session_id)",
)


def now_rfc3339() -> str:
    """RFC 3339 in UTC with ``Z``, as GoTrue writes timestamps."""
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def ensure_tables(database: Database) -> None:
    """Create the auth tables if this data dir does not have them yet."""
    with database.transaction() as connection:
        for statement in _SCHEMA:
            connection.execute(statement)


@dataclass
class User:
    id: str
    email: str | None = None
    encrypted_password: str | None = None
    is_anonymous: bool = False
    app_metadata: dict[str, Any] = field(default_factory=dict)
    user_metadata: dict[str, Any] = field(default_factory=dict)
    email_confirmed_at: str | None = None
    last_sign_in_at: str | None = None
    created_at: str = field(default_factory=now_rfc3339)
    updated_at: str = field(default_factory=now_rfc3339)


@dataclass(frozen=True)
class Session:
    id: str
    user_id: str
    amr: list[dict[str, Any]]
    created_at: str


@dataclass(frozen=True)
class RefreshToken:
    token: str
    session_id: str
    parent: str | None
    revoked_at: float | None


def _user(row: sqlite3.Row | None) -> User | None:
    if row is None:
        return None
    return User(
        id=row["id"],
        email=row["email"],
        encrypted_password=row["encrypted_password"],
        is_anonymous=bool(row["is_anonymous"]),
        app_metadata=json.loads(row["app_metadata"]),
        user_metadata=json.loads(row["user_metadata"]),
        email_confirmed_at=row["email_confirmed_at"],
        last_sign_in_at=row["last_sign_in_at"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


_USER_COLUMNS = (
    "email, encrypted_password, is_anonymous, app_metadata, user_metadata, email_confirmed_at, last_sign_in_at, "
    "created_at, updated_at"
)


def _user_values(user: User) -> tuple[Any, ...]:
    return (
        user.email,
        user.encrypted_password,
        int(user.is_anonymous),
        json.dumps(user.app_metadata),
        json.dumps(user.user_metadata),
        user.email_confirmed_at,
        user.last_sign_in_at,
        user.created_at,
        user.updated_at,
    )


def insert_user(connection: sqlite3.Connection, user: User) -> None:
    """Raises ``sqlite3.IntegrityError`` when the email is taken."""
    connection.execute(
        f"INSERT INTO {USERS} (id, {_USER_COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?,?)", (user.id, *_user_values(user))
    )


def save_user(connection: sqlite3.Connection, user: User) -> None:
    """Write every field back. Raises ``sqlite3.IntegrityError`` when a changed email is taken."""
    assignments = ", ".join(f"{column} = ?" for column in _USER_COLUMNS.split(", "))
    connection.execute(f"UPDATE {USERS} SET {assignments} WHERE id = ?", (*_user_values(user), user.id))


def find_user(connection: sqlite3.Connection, user_id: str) -> User | None:
    return _user(connection.execute(f"SELECT * FROM {USERS} WHERE id = ?", (user_id,)).fetchone())


def find_user_by_email(connection: sqlite3.Connection, email: str) -> User | None:
    """``email`` must already be normalised (lower case), as it is stored."""
    return _user(connection.execute(f"SELECT * FROM {USERS} WHERE email = ?", (email,)).fetchone())


def _new_refresh_token(connection: sqlite3.Connection, session_id: str, parent: str | None) -> str:
    token = secrets.token_urlsafe(32)
    connection.execute(
        f"INSERT INTO {REFRESH_TOKENS} (token, session_id, parent, created_at) VALUES (?, ?, ?, ?)",
        (token, session_id, parent, now_rfc3339()),
    )
    return token


def create_session(connection: sqlite3.Connection, user_id: str, method: str, timestamp: int) -> tuple[Session, str]:
    """A new session signed in with ``method`` (``password``, ``anonymous``) and its first refresh token."""
    session = Session(str(uuid.uuid4()), user_id, [{"method": method, "timestamp": timestamp}], now_rfc3339())
    connection.execute(
        f"INSERT INTO {SESSIONS} (id, user_id, amr, created_at) VALUES (?, ?, ?, ?)",
        (session.id, session.user_id, json.dumps(session.amr), session.created_at),
    )
    return session, _new_refresh_token(connection, session.id, None)


def find_session(connection: sqlite3.Connection, session_id: str) -> Session | None:
    row = connection.execute(f"SELECT * FROM {SESSIONS} WHERE id = ?", (session_id,)).fetchone()
    if row is None:
        return None
    return Session(row["id"], row["user_id"], json.loads(row["amr"]), row["created_at"])


def find_refresh_token(connection: sqlite3.Connection, token: str) -> RefreshToken | None:
    row = connection.execute(
        f"SELECT token, session_id, parent, revoked_at FROM {REFRESH_TOKENS} WHERE token = ?", (token,)
    ).fetchone()
    return None if row is None else RefreshToken(*row)


def active_refresh_token(connection: sqlite3.Connection, session_id: str) -> RefreshToken | None:
    """The session's newest unrevoked token (rotation keeps at most one)."""
    row = connection.execute(
        f"SELECT token, session_id, parent, revoked_at FROM {REFRESH_TOKENS} "
        "WHERE session_id = ? AND revoked_at IS NULL ORDER BY id DESC LIMIT 1",
        (session_id,),
    ).fetchone()
    return None if row is None else RefreshToken(*row)


def rotate_refresh_token(connection: sqlite3.Connection, token: RefreshToken, now: float) -> str:
    """Revoke ``token`` and issue its child: each refresh token works once."""
    connection.execute(f"UPDATE {REFRESH_TOKENS} SET revoked_at = ? WHERE token = ?", (now, token.token))
    connection.execute(f"UPDATE {SESSIONS} SET refreshed_at = ? WHERE id = ?", (now_rfc3339(), token.session_id))
    return _new_refresh_token(connection, token.session_id, token.token)


def revoke_session_tokens(connection: sqlite3.Connection, session_id: str, now: float) -> None:
    """Revoke the whole token family of a session (after a reused token hints at theft), as GoTrue does."""
    connection.execute(
        f"UPDATE {REFRESH_TOKENS} SET revoked_at = ? WHERE session_id = ? AND revoked_at IS NULL", (now, session_id)
    )


def delete_sessions(
    connection: sqlite3.Connection, user_id: str, *, only: str | None = None, keep: str | None = None
) -> None:
    """Sign out: all of a user's sessions, ``only`` one, or all but ``keep``; their refresh tokens go with them."""
    if only is not None:
        connection.execute(f"DELETE FROM {SESSIONS} WHERE user_id = ? AND id = ?", (user_id, only))
    else:
        connection.execute(f"DELETE FROM {SESSIONS} WHERE user_id = ? AND id IS NOT ?", (user_id, keep))


def delete_user(connection: sqlite3.Connection, user_id: str) -> None:
    """The user, their sessions and refresh tokens (by cascade)."""
    connection.execute(f"DELETE FROM {USERS} WHERE id = ?", (user_id,))
