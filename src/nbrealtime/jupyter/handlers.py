"""The REST API that the JupyterLab extension (#16) calls to share and open notebooks (docs/shared-notebooks.md):

* ``GET  /nbrealtime/api/rooms/<room>/notebooks`` — the room's notebooks (and where each is on this server)
* ``POST /nbrealtime/api/rooms/<room>/notebooks`` with ``{"path": "analysis.ipynb"}`` — share a local notebook
* ``POST /nbrealtime/api/rooms/<room>/notebooks/<id or name>/open`` — make it a live file on this server
* ``GET  /nbrealtime/api/rooms/<room>/notebooks/<id>/outputs/<output id>`` — an output kept out for its size

Errors are JSON ``{"message": …}`` with one sentence, as Jupyter's own API answers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jupyter_server.auth.decorator import authorized
from jupyter_server.utils import url_path_join
from tornado import web

from nbrealtime.jupyter.lab_handlers import JsonHandler, lab_routes

if TYPE_CHECKING:
    from nbrealtime.jupyter.bridge import NotebookBridge

__all__ = ["register_handlers"]

ROOM = r"(?P<room>[\w.-]{1,64})"


class _BridgeHandler(JsonHandler):
    async def bridge(self) -> NotebookBridge:
        from nbrealtime.jupyter.bridge import bridge_for  # the client side loads on the first call, not at start

        return await bridge_for(self.serverapp)


class NotebooksHandler(_BridgeHandler):
    @web.authenticated
    @authorized
    async def get(self, room: str) -> None:
        await self.answer((await self.bridge()).list(room))

    @web.authenticated
    @authorized
    async def post(self, room: str) -> None:
        body = self.get_json_body() or {}
        path = body.get("path") if isinstance(body, dict) else None
        if not isinstance(path, str) or not path.endswith(".ipynb"):
            raise web.HTTPError(400, 'send {"path": "<notebook>.ipynb"}, a notebook path relative to the server root')
        await self.answer((await self.bridge()).share(room, path), 201)


class OpenHandler(_BridgeHandler):
    @web.authenticated
    @authorized
    async def post(self, room: str, ref: str) -> None:
        await self.answer((await self.bridge()).open(room, ref))


class OutputHandler(_BridgeHandler):
    @web.authenticated
    @authorized
    async def get(self, room: str, ref: str, output: str) -> None:
        await self.answer((await self.bridge()).output(room, ref, output))


class NeedsLabExtraHandler(JsonHandler):
    """Shared notebooks need jupyter-collaboration's live documents: say how to get them instead of a bare 404."""

    @web.authenticated
    def get(self, *_args: str, **_kwargs: str) -> None:
        raise web.HTTPError(
            501, "shared notebooks need the lab extra on this Jupyter server: pip install 'nbrealtime[lab]'"
        )

    post = get


def register_handlers(serverapp: Any, *, shared_notebooks: bool = True) -> None:
    """The lab API always; the notebook routes need the lab extra (without it they say so, with 501)."""
    base_url = serverapp.web_app.settings["base_url"]
    base = url_path_join(base_url, "nbrealtime/api/rooms")
    notebooks = url_path_join(base, ROOM, "notebooks")
    notebook = url_path_join(notebooks, r"(?P<ref>[^/]+)")
    routes = [
        (notebooks, NotebooksHandler),
        (url_path_join(notebook, "open"), OpenHandler),
        (url_path_join(notebook, "outputs", r"(?P<output>[\w-]{1,64})"), OutputHandler),
    ]
    if not shared_notebooks:
        routes = [(url_path_join(notebooks, "?.*"), NeedsLabExtraHandler)]
    serverapp.web_app.add_handlers(".*$", [*routes, *lab_routes(base_url)])
