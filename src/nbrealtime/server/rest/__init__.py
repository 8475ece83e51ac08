"""PostgREST subset under ``/rest/v1``: the data API the official clients' ``table()`` speaks."""

from __future__ import annotations

from starlette.routing import Route

from nbrealtime.server.rest.endpoint import rpc_endpoint, table_endpoint

__all__ = ["routes"]

_METHODS = ["GET", "HEAD", "POST", "PATCH", "DELETE"]

routes: list[Route] = [
    Route("/rest/v1/rpc/{function}", rpc_endpoint, methods=[*_METHODS]),
    Route("/rest/v1/{table}", table_endpoint, methods=_METHODS),
]
