"""Errors in GoTrue's shape, so ``supabase_auth`` raises ``AuthApiError`` with the right ``code``."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

__all__ = ["API_VERSION", "API_VERSION_HEADER", "AuthError", "error_response"]

API_VERSION_HEADER = "X-Supabase-Api-Version"
# With this header on the response, supabase-py reads ``code`` from the body (helpers.py::handle_exception).
API_VERSION = "2024-01-01"


class AuthError(Exception):
    """A refusal to send as ``{"code", "message"}`` with an HTTP status, like GoTrue's ``HTTPError``."""

    def __init__(self, status: int, code: str, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.extra = extra

    def __str__(self) -> str:
        return f"{self.status} {self.code}: {self.message}"


def error_response(error: AuthError) -> JSONResponse:
    body = {"code": error.code, "message": error.message, **error.extra}
    return JSONResponse(body, status_code=error.status, headers={API_VERSION_HEADER: API_VERSION})
