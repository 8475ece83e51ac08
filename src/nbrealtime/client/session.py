"""A signed-in user on one backend, through the official client's auth API.

nbrealtime refreshes tokens itself (the client's own refresh timer is off): the refresh token is shared with other
kernels through the identity file, and only one of them may spend it at a time.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
from supabase import AsyncClient, AsyncClientOptions, acreate_client
from supabase_auth.errors import AuthApiError
from supabase_auth.types import Session

from nbrealtime.client.diagnose import explain_sign_in_failure
from nbrealtime.client.identity import IdentityStore, StoredIdentity

__all__ = ["AuthSession", "SignInError"]

REFRESH_MARGIN_SECONDS = 120
HTTP_TIMEOUT = 15.0
# A pooled connection idle this long is not reused: below the embedded server's keep-alive timeout (30 s) and the
# usual 60 s of hosted gateways, so a request never races the server closing the connection.
KEEPALIVE_EXPIRY = 5.0


class SignInError(RuntimeError):
    """Signing in failed; the message says why and what to do."""


@dataclass
class AuthSession:
    client: AsyncClient
    store: IdentityStore
    name: str
    http: httpx.AsyncClient
    session: Session | None = None
    _token_listeners: list[Callable[[str], None]] = field(default_factory=list)
    # The file lock is taken with a blocking call on the loop thread: two channels of this process refreshing at once
    # must queue here, or the second would block the loop that the first needs to finish (a deadlock).
    _refreshing: asyncio.Lock = field(default_factory=asyncio.Lock)

    @classmethod
    async def open(cls, url: str, key: str, store: IdentityStore, name: str) -> AuthSession:
        """Create the official async client (REST + auth) and sign in as ``name``; any failure is one
        :class:`~nbrealtime.errors.ConnectionFailed` paragraph."""
        # One HTTP client for auth and REST that we own: supabase-py rebuilds its REST client on every token
        # change, and a client of its own would leave connections open each time.
        limits = httpx.Limits(keepalive_expiry=KEEPALIVE_EXPIRY)
        http = httpx.AsyncClient(timeout=HTTP_TIMEOUT, follow_redirects=True, limits=limits)
        options = AsyncClientOptions(auto_refresh_token=False, persist_session=False, httpx_client=http)
        try:
            client = await acreate_client(url, key, options=options)
            auth = cls(client, store, name, http)
            await auth.sign_in()
        except Exception as error:
            await http.aclose()
            raise explain_sign_in_failure(url, error) from None
        except BaseException:
            await http.aclose()
            raise
        return auth

    async def close(self) -> None:
        await self.http.aclose()

    @property
    def user_id(self) -> str:
        assert self.session is not None, "not signed in"
        return self.session.user.id

    @property
    def access_token(self) -> str:
        assert self.session is not None, "not signed in"
        return self.session.access_token

    def on_token(self, callback: Callable[[str], None]) -> Callable[[], None]:
        """Call ``callback(access_token)`` after every sign-in or refresh (browser views act with the same token);
        returns the function that stops it."""
        self._token_listeners.append(callback)
        return lambda: self._token_listeners.remove(callback) if callback in self._token_listeners else None

    def expires_in(self) -> float:
        if self.session is None or self.session.expires_at is None:
            return 0.0
        return self.session.expires_at - time.time()

    async def sign_in(self) -> None:
        """Resume the stored identity, or create one with an anonymous sign-in."""
        with self.store.locked():
            stored = self.store.load()
            if stored is not None:
                try:
                    await self._refresh_from(stored)
                    return
                except AuthApiError:
                    pass  # revoked or from a reset server: start a new identity
            response = await self.client.auth.sign_in_anonymously({"options": {"data": {"name": self.name}}})
            self._keep(response.session)

    def refresh_due_in(self) -> float:
        """Seconds until the token should be refreshed: two minutes before it expires, or halfway through a
        shorter lifetime (a backend configured with short-lived tokens)."""
        lifetime = float(self.session.expires_in) if self.session is not None and self.session.expires_in else 0.0
        margin = min(REFRESH_MARGIN_SECONDS, lifetime / 2) if lifetime else REFRESH_MARGIN_SECONDS
        return self.expires_in() - margin

    async def ensure_fresh(self) -> str:
        """An access token that is not due for refresh, refreshing (once across kernels) if needed."""
        async with self._refreshing:
            if self.refresh_due_in() > 0:  # fresh already, or refreshed by another channel while this one queued
                return self.access_token
            with self.store.locked():
                stored = self.store.load()
                if stored is None or stored.user_id != self.user_id:
                    raise SignInError("the stored identity changed; reconnect to sign in again")
                await self._refresh_from(stored)
        return self.access_token

    async def _refresh_from(self, stored: StoredIdentity) -> None:
        response = await self.client.auth.refresh_session(stored.refresh_token)
        self._keep(response.session)

    def _keep(self, session: Session | None) -> None:
        if session is None:
            raise SignInError("the auth server returned no session")
        self.session = session
        self.store.save(StoredIdentity(session.user.id, session.refresh_token))
        for listener in list(self._token_listeners):
            listener(session.access_token)
