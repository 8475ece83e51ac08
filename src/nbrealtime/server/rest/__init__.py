"""PostgREST subset under ``/rest/v1``."""

from __future__ import annotations

routes: list = []
