"""GoTrue subset under ``/auth/v1``: sign-up, anonymous and password sign-in, refresh, user, sign-out."""

from __future__ import annotations

routes: list = []
