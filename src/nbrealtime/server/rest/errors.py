"""PostgREST's error JSON ``{"code","details","hint","message"}`` and the HTTP status each code gets."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.responses import Response

from nbrealtime.server.storage import DatabaseError

__all__ = ["RestError", "error_response", "status_for"]

_PGRST_STATUS = {
    "PGRST100": 400,
    "PGRST102": 400,
    "PGRST103": 416,
    "PGRST106": 406,
    "PGRST107": 406,
    "PGRST116": 406,
    "PGRST124": 400,
    "PGRST200": 400,
    "PGRST202": 404,
    "PGRST204": 400,
    "PGRST205": 404,
    "PGRST301": 401,
    "PGRST302": 401,
}
_SQL_STATUS = {"23503": 409, "23505": 409, "42883": 404, "42P01": 404, "P0001": 400}
_SQL_CLASS_STATUS = {"08": 503, "09": 500, "25": 500, "28": 403, "40": 500, "53": 503, "54": 500, "XX": 500}


class RestError(DatabaseError):
    """An error the data API itself raises (not the database), with an explicit HTTP status."""

    def __init__(
        self, status: int, code: str, message: str, details: str | list[Any] | None = None, hint: str | None = None
    ) -> None:
        super().__init__(code, message, details, hint)
        self.status = status


def status_for(error: DatabaseError, anon: bool) -> int:
    """PostgREST's ``mapSQLtoHTTP``: 409 for conflicts, 401/403 for ``42501``, 400 for most data errors."""
    explicit = getattr(error, "status", None)
    if isinstance(explicit, int):
        return explicit
    code = error.code
    if code == "42501":
        return 401 if anon else 403
    if code in _PGRST_STATUS:
        return _PGRST_STATUS[code]
    if code in _SQL_STATUS:
        return _SQL_STATUS[code]
    return _SQL_CLASS_STATUS.get(code[:2], 400)


def error_response(error: DatabaseError, *, anon: bool, head: bool = False) -> Response:
    status = status_for(error, anon)
    body = {"code": error.code, "details": error.details, "hint": error.hint, "message": error.message}
    headers = {}
    if status == 401 and error.code.startswith("PGRST3"):
        headers["WWW-Authenticate"] = f'Bearer error="invalid_token", error_description="{error.message}"'
    return Response(
        b"" if head else orjson.dumps(body),
        status_code=status,
        media_type="application/json; charset=utf-8",
        headers=headers,
    )
