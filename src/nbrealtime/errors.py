"""Errors a user meets at the edges (no backend, no bundle): the message is the whole story.

IPython renders an exception through its ``_render_traceback_`` when it has one, so in a notebook these show as
their one paragraph instead of a traceback through nbrealtime's internals.
"""

from __future__ import annotations

__all__ = ["BundleMissing", "ConnectionFailed", "UserError"]


class UserError(Exception):
    """An error whose message says what happened and what to do; shown without a traceback in notebooks."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class ConnectionFailed(UserError, ConnectionError):
    """``connect()`` could not reach or sign in to the backend; the message names the URL and the likely cause."""


class BundleMissing(UserError, RuntimeError):
    """The widget bundles were never built (a source checkout without npm's build)."""
