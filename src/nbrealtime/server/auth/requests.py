"""Reading auth requests: the API key the gateway would check, the JSON body and the caller's Bearer token."""

from __future__ import annotations

import re
from typing import Any

import orjson
from starlette.requests import Request

from nbrealtime.server.auth.errors import AuthError
from nbrealtime.server.tokens import TokenError, verify_token

__all__ = ["bearer_token", "normalise_email", "object_field", "read_json", "require_api_key", "string_field"]

# The HTML living-standard email pattern, as GoTrue uses; a domain without a dot (``a@localhost``) is allowed.
_EMAIL = re.compile(
    r"^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?"
    r"(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$"
)


def bearer_token(request: Request) -> str | None:
    authorization = request.headers.get("authorization", "")
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_api_key(request: Request, secret: str) -> None:
    """What Supabase's gateway does before GoTrue sees a request: a key signed with the project secret."""
    key = request.headers.get("apikey") or bearer_token(request)
    if not key:
        raise AuthError(401, "no_authorization", "No API key found in request")
    try:
        verify_token(key, secret)
    except TokenError:
        raise AuthError(401, "bad_jwt", "Invalid API key") from None


async def read_json(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or 400 ``bad_json`` as GoTrue answers."""
    try:
        body = orjson.loads(await request.body())
    except orjson.JSONDecodeError as error:
        raise AuthError(400, "bad_json", f"Could not parse request body as JSON: {error}") from None
    if not isinstance(body, dict):
        raise AuthError(400, "bad_json", "Could not parse request body as JSON: expected an object")
    return body


def string_field(body: dict[str, Any], name: str) -> str:
    """A string parameter; absent or null reads as ``""`` (Go's zero value), any other type is a bad body."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise AuthError(400, "bad_json", f"Could not parse request body as JSON: {name} must be a string")
    return value


def object_field(body: dict[str, Any], name: str) -> dict[str, Any] | None:
    value = body.get(name)
    if value is None or isinstance(value, dict):
        return value
    raise AuthError(400, "bad_json", f"Could not parse request body as JSON: {name} must be an object")


def normalise_email(email: str) -> str:
    """GoTrue stores and looks up emails in lower case; 400 ``validation_failed`` if it is not an address."""
    email = email.strip()
    if len(email) > 255:
        raise AuthError(400, "validation_failed", "An email address is too long")
    if not _EMAIL.match(email):
        raise AuthError(400, "validation_failed", "Unable to validate email address: invalid format")
    return email.lower()
