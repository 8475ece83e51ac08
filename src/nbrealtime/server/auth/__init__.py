"""GoTrue subset under ``/auth/v1``: sign-up, anonymous and password sign-in, refresh, user, sign-out.

``routes`` are mounted by the app; ``ensure_tables`` creates the private user/session tables at start-up.
"""

from __future__ import annotations

from nbrealtime.server.auth.routes import routes
from nbrealtime.server.auth.store import ensure_tables

__all__ = ["ensure_tables", "routes"]
