"""What went wrong reaching a backend, said once: a bad URL, nothing answering, a refused key, anonymous sign-ins off.

``connect()`` raises :class:`~nbrealtime.errors.ConnectionFailed` with one of these paragraphs (``from None``: the
chain through httpx and the auth client would only hide the cause).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from supabase_auth.errors import AuthApiError, AuthError, AuthRetryableError

from nbrealtime.errors import ConnectionFailed

__all__ = ["check_url", "explain_sign_in_failure"]

EXAMPLE_URLS = "http://127.0.0.1:54321 or https://PROJECT.supabase.co"


def check_url(url: str) -> str:
    """``url`` without a trailing slash if it is a project URL; else :class:`ConnectionFailed` echoing it."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError:
        parts = None
    if parts is None or parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConnectionFailed(f"{url!r} is not a Supabase project URL: expected one like {EXAMPLE_URLS}.")
    if parts.path.strip("/") or parts.query or parts.fragment:
        base = f"{parts.scheme}://{parts.netloc}"
        raise ConnectionFailed(
            f"{url!r} has a path: give the project URL alone ({base!r}); nbrealtime adds /auth/v1, /rest/v1 and "
            "/realtime/v1 itself."
        )
    return url.strip().rstrip("/")


def explain_sign_in_failure(url: str, error: Exception) -> ConnectionFailed:
    """The paragraph for an exception raised while signing in to ``url`` (the first request ``connect()`` makes)."""
    if isinstance(error, AuthRetryableError) and not error.status:
        return ConnectionFailed(
            f"nothing answers at {url} ({error.message}). Is the server running and the URL right? For the embedded "
            "server, `nbrealtime keys` prints the URL of the one running."
        )
    if isinstance(error, AuthApiError) and error.code == "anonymous_provider_disabled":
        return ConnectionFailed(
            f"the project at {url} has anonymous sign-ins disabled, and nbrealtime signs people in anonymously. "
            "Enable them in the Supabase dashboard: Authentication → Sign In / Providers → Allow anonymous sign-ins."
        )
    if isinstance(error, AuthApiError) and error.status == 401:
        return ConnectionFailed(
            f"the server at {url} refused the API key ({error.message}). Use the project's anon (publishable) key "
            "as SUPABASE_ANON_KEY or key=; for the embedded server `nbrealtime keys` prints it."
        )
    if isinstance(error, AuthError):
        return ConnectionFailed(f"signing in at {url} failed: {error.message} (HTTP {error.status}).")
    return ConnectionFailed(
        f"{url} answered, but not as a Supabase project does ({type(error).__name__}: {error}). Is it the project "
        f"URL ({EXAMPLE_URLS})?"
    )
