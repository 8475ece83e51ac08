"""The ``/auth/v1`` endpoints supabase-py's ``auth`` calls; each answer carries the API-version header."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from nbrealtime.server.auth import accounts, admin, sessions
from nbrealtime.server.auth.errors import API_VERSION, API_VERSION_HEADER, AuthError, error_response
from nbrealtime.server.auth.requests import read_json, require_api_key, string_field
from nbrealtime.server.auth.views import settings_json, user_json

if TYPE_CHECKING:
    from nbrealtime.server.app import ServerContext

__all__ = ["PREFIX", "routes"]

PREFIX = "/auth/v1"
log = logging.getLogger("nbrealtime.server.auth")
_UNEXPECTED = "Unexpected failure, please check server logs for more information"

Handler = Callable[[Request, "ServerContext"], Awaitable[Response]]


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Gateway key check, GoTrue-shaped errors, the version header; an unexpected error is logged, never sent."""

    @functools.wraps(handler)
    async def run(request: Request) -> Response:
        try:
            context = request.app.state.context
            require_api_key(request, context.keys.jwt_secret)
            response = await handler(request, context)
        except AuthError as error:
            return error_response(error)
        except Exception:
            log.exception("auth: %s %s failed", request.method, request.url.path)
            return error_response(
                AuthError(
                    500, "unexpected_failure", "Unexpected failure, please check server logs for more information"
                )
            )
        response.headers[API_VERSION_HEADER] = API_VERSION
        return response

    return run


def _issuer(request: Request) -> str:
    return str(request.base_url).rstrip("/") + PREFIX


async def signup(request: Request, context: ServerContext) -> Response:
    body = await read_json(request)
    return JSONResponse(await accounts.sign_up(context, _issuer(request), body))


async def token(request: Request, context: ServerContext) -> Response:
    grant_type = request.query_params.get("grant_type", "")
    body = await read_json(request)
    if grant_type == "password":
        return JSONResponse(await accounts.sign_in_with_password(context, _issuer(request), body))
    if grant_type == "refresh_token":
        refresh_token = string_field(body, "refresh_token")
        return JSONResponse(sessions.refresh_session(context, _issuer(request), refresh_token))
    raise AuthError(400, "unsupported_grant_type", f"Unsupported grant_type {grant_type!r}")


async def get_user(request: Request, context: ServerContext) -> Response:
    user, _ = sessions.authenticate(request, context)
    return JSONResponse(user_json(user))


async def put_user(request: Request, context: ServerContext) -> Response:
    user, session = sessions.authenticate(request, context)
    body = await read_json(request)
    return JSONResponse(await accounts.update_user(context, user, session, body))


async def logout(request: Request, context: ServerContext) -> Response:
    user, session = sessions.authenticate(request, context)
    sessions.sign_out(context, user, session, request.query_params.get("scope", "global"))
    return Response(status_code=204)


async def settings(request: Request, context: ServerContext) -> Response:
    return JSONResponse(settings_json(context.config.anonymous_sign_ins))


async def health(request: Request, context: ServerContext) -> Response:
    return JSONResponse({"version": "nbrealtime", "name": "GoTrue", "description": "nbrealtime's GoTrue subset"})


_ROUTES: dict[str, dict[str, Handler]] = {
    "/signup": {"POST": signup},
    "/token": {"POST": token},
    "/user": {"GET": get_user, "PUT": put_user},
    "/logout": {"POST": logout},
    "/settings": {"GET": settings},
    "/health": {"GET": health},
    "/admin/users": {"GET": admin.list_users, "POST": admin.create_user},
    "/admin/users/{user_id}": {"GET": admin.get_user, "PUT": admin.update_user, "DELETE": admin.delete_user},
}


async def _not_found(request: Request, context: ServerContext) -> Response:
    """JSON instead of Starlette's plain-text 404/405, which supabase-py could not parse."""
    path = request.url.path.removeprefix(PREFIX)
    if path in _ROUTES:
        raise AuthError(405, "method_not_allowed", f"{request.method} is not allowed on {PREFIX}{path}")
    raise AuthError(404, "not_found", f"No auth endpoint at {request.url.path}")


routes: list[Route] = [
    *(
        Route(PREFIX + path, _endpoint(handler), methods=[method])
        for path, handlers in _ROUTES.items()
        for method, handler in handlers.items()
    ),
    Route(PREFIX + "/{rest:path}", _endpoint(_not_found), methods=["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"]),
]
