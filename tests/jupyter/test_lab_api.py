"""The lab API (docs/lab-api.md) of two real JupyterLab servers ("machines" signed in as ann and ben) against one
embedded server, driven over HTTP and its websocket, with kernels (Python room members) acting beside them.

Ann's kernel is this test process's ``nbrealtime.connect(..., user="ann")``: the same identity as ann's JupyterLab
(one data dir), so it is the kernel of the JupyterLab's user. Each test makes its own room, owned by ann.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

import nbrealtime
from nbrealtime.features.room import Room
from tests.browser.harness import JupyterLab
from tests.client.support import Peer
from tests.jupyter.support import LiveSocket, api, lab_api, member

pytestmark = pytest.mark.lab_ui


@pytest.fixture
def ann_kernel(env: dict[str, str]) -> Iterator[Room]:
    """Ann's kernel in a new room of hers (she owns it)."""
    room = nbrealtime.connect(f"lab-{uuid.uuid4().hex[:8]}", user="ann")
    yield room
    room.close()


@pytest.fixture
def ben_joined(machines: list[JupyterLab], ann_kernel: Room) -> str:
    """Ben's JupyterLab joined ann's room as an editor, through the lab API; returns the room's name."""
    joined = lab_api(machines[1], "POST", "rooms/join", json={"invite": str(ann_kernel.invite("editor"))})
    assert joined.status_code == 200, joined.text
    assert joined.json() == {"room": ann_kernel.name, "role": "editor"}
    return ann_kernel.name


@pytest.fixture
def sockets() -> Iterator[list[LiveSocket]]:
    opened: list[LiveSocket] = []
    yield opened
    for socket in opened:
        socket.close()


def live(lab: JupyterLab, sockets: list[LiveSocket]) -> LiveSocket:
    socket = LiveSocket(lab)
    sockets.append(socket)
    return socket


def test_me_rooms_and_the_state_of_a_room(machines: list[JupyterLab], ann_kernel: Room) -> None:
    ann = machines[0]
    me = lab_api(ann, "GET", "me").json()
    assert me["user_id"] == ann_kernel.me.id and me["name"] == "ann" and me["color"] == ann_kernel.me.color
    assert me["backend"] == ann_kernel.backend.url
    assert {"room": ann_kernel.name, "role": "owner"} in lab_api(ann, "GET", "rooms").json()
    state = api(ann, "GET", ann_kernel.name).json()
    assert state["room"] == ann_kernel.name and state["role"] == "owner"
    assert state["settings"] == {"open_to": "invited", "role": "viewer"}
    assert member(state, "ann") is not None and member(state, "ann")["you"] is True
    assert member(state, "ann")["role"] == "owner" and member(state, "ann")["status"] == "online"
    assert state["invites"] == []


def test_joining_by_invite(machines: list[JupyterLab], ann_kernel: Room) -> None:
    ben = machines[1]
    stranger = api(ben, "GET", ann_kernel.name)
    assert stranger.status_code == 404 and "not a member" in stranger.json()["message"]
    not_an_invite = lab_api(ben, "POST", "rooms/join", json={"invite": "come in"})
    assert not_an_invite.status_code == 400 and "not an nbrealtime invite" in not_an_invite.json()["message"]
    forged = lab_api(ben, "POST", "rooms/join", json={"invite": f"nbrt-invite:{ann_kernel.name}:{'x' * 32}"})
    assert forged.status_code == 403 and ann_kernel.name in forged.json()["message"]
    invite = ann_kernel.invite("viewer", uses=1)
    joined = lab_api(ben, "POST", "rooms/join", json={"invite": str(invite)})
    assert joined.status_code == 200 and joined.json() == {"room": ann_kernel.name, "role": "viewer"}
    assert {"room": ann_kernel.name, "role": "viewer"} in lab_api(ben, "GET", "rooms").json()
    assert api(ben, "GET", ann_kernel.name).json()["role"] == "viewer"


def test_the_websocket_says_hello_then_each_room_and_a_kernels_presence(
    machines: list[JupyterLab], ann_kernel: Room, env: dict[str, str], peers: list[Peer], sockets: list[LiveSocket]
) -> None:
    socket = live(machines[0], sockets)
    hello = socket.expect("hello")
    assert hello["me"]["name"] == "ann" and {"room": ann_kernel.name, "role": "owner"} in hello["rooms"]
    first = socket.expect("room", lambda f: f["room"] == ann_kernel.name)
    assert first["role"] == "owner" and member(first, "ann")["you"] is True
    cy = Peer(ann_kernel.name, "cy", env, invite=ann_kernel.invite("editor"))
    peers.append(cy)
    cy.do("presence", cell="cell-7", activity="running")
    seen = socket.expect(
        "room",
        lambda f: f["room"] == ann_kernel.name and (member(f, "cy") or {}).get("cell") == "cell-7",
        "cy's cell in a room frame",
    )
    cy_there = member(seen, "cy")
    assert cy_there["status"] == "online" and cy_there["activity"] == "running" and cy_there["role"] == "editor"
    assert cy_there["you"] is False and cy_there["notebook"] is None
