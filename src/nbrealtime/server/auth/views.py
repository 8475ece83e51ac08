"""The JSON GoTrue sends: User, session (``AccessTokenResponse``) and settings.

``supabase_auth.types`` validates these with pydantic; see PROTOCOL.md §6 for the fields it requires.
"""

from __future__ import annotations

import uuid
from typing import Any

from nbrealtime.server.auth.store import User
from nbrealtime.server.tokens import AUTHENTICATED

__all__ = ["session_json", "settings_json", "user_json"]

# Identities are derived from the user row (only the email provider exists here); a name-based UUID keeps
# ``identity_id`` stable across requests and restarts without another table.
_IDENTITY_NAMESPACE = uuid.UUID("6f1c4b8e-6a55-4c3e-9a37-2f7d2b8e0c11")


def _email_identity(user: User) -> dict[str, Any]:
    created = user.email_confirmed_at or user.created_at
    return {
        "identity_id": str(uuid.uuid5(_IDENTITY_NAMESPACE, f"{user.id}:email")),
        "id": user.id,
        "user_id": user.id,
        "identity_data": {"email": user.email, "email_verified": True, "phone_verified": False, "sub": user.id},
        "provider": "email",
        "last_sign_in_at": user.last_sign_in_at or created,
        "created_at": created,
        "updated_at": user.updated_at,
        "email": user.email,
    }


def user_json(user: User) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": user.id,
        "aud": AUTHENTICATED,
        "role": AUTHENTICATED,
        "email": user.email or "",
        "phone": "",
        "app_metadata": user.app_metadata,
        "user_metadata": user.user_metadata,
        "identities": [_email_identity(user)] if user.email else [],
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "is_anonymous": user.is_anonymous,
    }
    if user.email_confirmed_at:
        body["email_confirmed_at"] = body["confirmed_at"] = user.email_confirmed_at
    if user.last_sign_in_at:
        body["last_sign_in_at"] = user.last_sign_in_at
    return body


def session_json(access_token: str, expires_at: int, lifetime: int, refresh_token: str, user: User) -> dict[str, Any]:
    return {
        "access_token": access_token,
        "token_type": "bearer",
        "expires_in": lifetime,
        "expires_at": expires_at,
        "refresh_token": refresh_token,
        "user": user_json(user),
    }


_EXTERNAL_PROVIDERS = [
    "apple",
    "azure",
    "bitbucket",
    "discord",
    "facebook",
    "figma",
    "fly",
    "github",
    "gitlab",
    "google",
    "kakao",
    "keycloak",
    "linkedin",
    "linkedin_oidc",
    "notion",
    "phone",
    "slack",
    "slack_oidc",
    "spotify",
    "twitch",
    "twitter",
    "workos",
    "zoom",
]


def settings_json(anonymous_sign_ins: bool) -> dict[str, Any]:
    """What is enabled: email + password (confirmed at once) and anonymous sign-in if on; no OAuth, SMS or SAML."""
    external: dict[str, bool] = dict.fromkeys(_EXTERNAL_PROVIDERS, False)
    external.update(anonymous_users=anonymous_sign_ins, email=True)
    return {
        "external": external,
        "disable_signup": False,
        "mailer_autoconfirm": True,
        "phone_autoconfirm": False,
        "sms_provider": "",
        "saml_enabled": False,
    }
