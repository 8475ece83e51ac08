"""The lab API (docs/lab-api.md) of two real JupyterLab servers ("machines" signed in as ann and ben) against one
embedded server, driven over HTTP and its websocket, with kernels (Python room members) acting beside them.

Ann's kernel is this test process's ``nbrealtime.connect(..., user="ann")``: the same identity as ann's JupyterLab
(one data dir), so it is the kernel of the JupyterLab's user. Each test makes its own room, owned by ann.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator

import pytest

import nbrealtime
from nbrealtime.features.room import Room
from tests.browser.harness import JupyterLab
from tests.client.support import Events, Peer
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


def test_owner_actions_and_their_refusal_for_a_viewer(
    machines: list[JupyterLab], ann_kernel: Room, ben_joined: str
) -> None:
    ann, ben = machines
    room = ben_joined
    made = api(ann, "POST", f"{room}/invites", json={"role": "viewer", "expires_in": 3600, "uses": 2})
    assert made.status_code == 201, made.text
    invite = made.json()
    assert invite["role"] == "viewer" and invite["uses"] == 2 and invite["link"].startswith(f"nbrt-invite:{room}:")
    assert invite["token"] in invite["link"] and invite["expires_at"] is not None
    listed = {i["id"]: i for i in api(ann, "GET", room).json()["invites"]}
    assert (listed[invite["id"]]["role"], listed[invite["id"]]["uses"], listed[invite["id"]]["usable"]) == (
        "viewer",
        2,
        True,
    )
    assert api(ann, "POST", f"{room}/invites", json={"role": "owner"}).status_code == 400
    assert api(ann, "POST", f"{room}/invites", json={"role": "editor", "uses": "many"}).status_code == 400

    settings = api(ann, "PUT", f"{room}/settings", json={"open_to": "signed_in", "role": "editor"})
    assert settings.status_code == 200 and settings.json() == {"open_to": "signed_in", "role": "editor"}
    assert api(ann, "PUT", f"{room}/settings", json={"open_to": "everyone"}).status_code == 400

    ben_id = lab_api(ben, "GET", "me").json()["user_id"]
    demoted = api(ann, "PUT", f"{room}/members/{ben_id}", json={"role": "viewer"})
    assert demoted.status_code == 200 and demoted.json()["role"] == "viewer" and demoted.json()["name"] == "ben"
    assert api(ann, "PUT", f"{room}/members/{uuid.uuid4()}", json={"role": "viewer"}).status_code == 404
    assert api(ben, "GET", room).json()["invites"] == []  # a viewer sees no invites

    refusals = [
        api(ben, "POST", f"{room}/invites", json={"role": "editor"}),
        api(ben, "DELETE", f"{room}/invites/{invite['id']}"),
        api(ben, "PUT", f"{room}/settings", json={"open_to": "invited"}),
        api(ben, "PUT", f"{room}/members/{ann_kernel.me.id}", json={"role": "viewer"}),
        api(ben, "DELETE", f"{room}/members/{ann_kernel.me.id}"),
        api(ben, "POST", f"{room}/present", json={"on": True}),
    ]
    for refused in refusals:
        assert refused.status_code == 403, (refused.request.method, refused.request.url, refused.text)
        assert refused.json()["message"].count(".") <= 2 and room in refused.json()["message"]
    assert ann_kernel.settings() == {"open_to": "signed_in", "role": "editor"}  # nothing changed by the refusals

    revoked = api(ann, "DELETE", f"{room}/invites/{invite['id']}")
    assert revoked.status_code == 204
    assert {i["id"]: i["usable"] for i in api(ann, "GET", room).json()["invites"]}[invite["id"]] is False
    assert api(ann, "DELETE", f"{room}/invites/{uuid.uuid4()}").status_code == 404
    removed = api(ann, "DELETE", f"{room}/members/{ben_id}")
    assert removed.status_code == 204
    assert {"room": room, "role": "viewer"} not in lab_api(ben, "GET", "rooms").json()
    gone = api(ben, "GET", room)
    assert gone.status_code == 404, gone.text


def test_bad_bodies_get_400_and_one_sentence(machines: list[JupyterLab], ann_kernel: Room) -> None:
    ann, room = machines[0], ann_kernel.name
    cases = [
        ("POST", f"{room}/where", {"content": "not json"}),
        ("POST", f"{room}/where", {"json": [1, 2]}),
        ("POST", f"{room}/where", {"json": {"path": 3}}),
        ("POST", f"{room}/where", {"json": {"activity": "dancing"}}),
        ("POST", f"{room}/present", {"json": {"on": "yes"}}),
        ("POST", f"{room}/notifications/read", {"json": {"ids": "all"}}),
        ("PUT", f"{room}/members/{ann_kernel.me.id}", {"json": {"role": 7}}),
    ]
    for method, path, options in cases:
        answer = api(ann, method, path, **options)
        assert answer.status_code == 400, (path, options, answer.text)
        assert answer.json()["message"] and "Traceback" not in answer.text
    unknown = api(ann, "POST", f"{room}/notifications/read", json={"ids": [str(uuid.uuid4())]})
    assert unknown.status_code == 404 and "no notification" in unknown.json()["message"]


def share_analysis(machines: list[JupyterLab], room: str) -> dict:
    """Ann shares ``work/analysis.ipynb``; ben opens it, where his server puts it: ``analysis.ipynb``."""
    ann, ben = machines
    (ann.root / "work").mkdir(exist_ok=True)
    ann.write_notebook("work/analysis", ["x = 1"])
    shared = api(ann, "POST", f"{room}/notebooks", json={"path": "work/analysis.ipynb"})
    assert shared.status_code == 201, shared.text
    opened = api(ben, "POST", f"{room}/notebooks/{shared.json()['id']}/open")
    assert opened.status_code == 200 and opened.json()["path"] == "analysis.ipynb", opened.text
    return shared.json()


def test_where_shows_on_the_other_server_with_its_own_path(
    machines: list[JupyterLab], ann_kernel: Room, ben_joined: str, sockets: list[LiveSocket]
) -> None:
    ann, ben = machines
    notebook = share_analysis(machines, ben_joined)
    on_ann, on_ben = live(ann, sockets), live(ben, sockets)
    where = {"path": "work/analysis.ipynb", "cell": "cell-3", "activity": "editing"}
    assert api(ann, "POST", f"{ben_joined}/where", json=where).status_code == 204

    def ann_in_cell_3(frame: dict) -> bool:
        return (member(frame, "ann") or {}).get("cell") == "cell-3"

    seen_by_ben = member(on_ben.expect("room", ann_in_cell_3, "ann's cell on ben's server"), "ann")
    assert seen_by_ben["notebook"] == {"id": notebook["id"], "name": "analysis.ipynb", "path": "analysis.ipynb"}
    assert seen_by_ben["activity"] == "editing" and seen_by_ben["you"] is False
    seen_by_ann = member(on_ann.expect("room", ann_in_cell_3, "ann's own cell"), "ann")
    assert seen_by_ann["notebook"]["path"] == "work/analysis.ipynb" and seen_by_ann["you"] is True

    on_ann.send({"type": "where", "room": ben_joined, "path": "scratch.ipynb", "cell": None, "activity": "idle"})
    elsewhere = member(on_ben.expect("room", lambda f: (member(f, "ann") or {}).get("activity") == "idle"), "ann")
    assert elsewhere["notebook"] is None and elsewhere["cell"] is None  # not a room notebook: nothing to follow


def test_notifications_naming_a_cell_and_read_state_both_ways(
    machines: list[JupyterLab],
    ann_kernel: Room,
    ben_joined: str,
    env: dict[str, str],
    peers: list[Peer],
    sockets: list[LiveSocket],
) -> None:
    ann = machines[0]
    room = ben_joined
    notebook = share_analysis(machines, room)
    socket = live(ann, sockets)
    socket.expect("notifications", lambda f: f["room"] == room)
    cy = Peer(room, "cy", env, invite=ann_kernel.invite("editor"))
    peers.append(cy)
    cy.do("notify", to="ann", title="Look here", message="this cell", notebook="analysis.ipynb", cell="cell-9")
    arrived = socket.expect("notification", lambda f: f["notification"]["title"] == "Look here")["notification"]
    assert arrived["notebook"] == {"id": notebook["id"], "name": "analysis.ipynb", "path": "work/analysis.ipynb"}
    assert arrived["cell"] == "cell-9" and arrived["read"] is False and arrived["sender"]["name"] == "cy"
    assert arrived["room"] == room and arrived["kind"] == "info" and arrived["message"] == "this cell"
    listed = api(ann, "GET", f"{room}/notifications").json()
    assert [item["id"] for item in listed] == [arrived["id"]]

    in_kernel = ann_kernel.notifications.wait_for(lambda n: n.id == arrived["id"])
    assert (in_kernel.notebook, in_kernel.cell) == (notebook["id"], "cell-9")
    marked = api(ann, "POST", f"{room}/notifications/read", json={"ids": [arrived["id"]]})
    assert marked.status_code == 200 and marked.json() == {"unread": 0}
    until_read(ann_kernel, arrived["id"])  # the kernel of the same user sees it read

    cy.do("notify", to="ann", title="And here")
    second = socket.expect("notification", lambda f: f["notification"]["title"] == "And here")["notification"]
    assert second["notebook"] is None and second["cell"] is None
    ann_kernel.notifications.wait_for(lambda n: n.id == second["id"])
    ann_kernel.notifications.mark_read(second["id"])  # the kernel marks it read: JupyterLab hears of it
    read_state = socket.expect(
        "notifications", lambda f: any(n["id"] == second["id"] and n["read"] for n in f["notifications"]), "read"
    )
    assert read_state["unread"] == 0 and {n["id"] for n in read_state["notifications"]} == {arrived["id"], second["id"]}


def until_read(room: Room, notification_id: str) -> None:
    changes = Events()
    room.notifications.on_change(changes.put)
    try:
        if not any(n.id == notification_id and n.read for n in room.notifications.all):
            changes.expect(lambda items: any(n.id == notification_id and n.read for n in items), what="read")
    finally:
        room.notifications.off_change(changes.put)


def test_presenting_leads_the_other_server_until_stopped_or_gone(
    machines: list[JupyterLab], ann_kernel: Room, ben_joined: str, sockets: list[LiveSocket]
) -> None:
    ann, ben = machines
    room = ben_joined
    notebook = share_analysis(machines, room)
    on_ann, on_ben = live(ann, sockets), live(ben, sockets)
    on_ann.expect("room", lambda f: f["room"] == room)
    assert api(ann, "POST", f"{room}/where", json={"path": "work/analysis.ipynb", "cell": "c1"}).status_code == 204
    assert api(ann, "POST", f"{room}/present", json={"on": True}).status_code == 204
    started = on_ben.expect("present", lambda f: f["room"] == room and f["presenter"] is not None)
    assert started["presenter"] == {"user_id": ann_kernel.me.id, "name": "ann", "color": ann_kernel.me.color}
    assert started["notebook"] == {"id": notebook["id"], "name": "analysis.ipynb", "path": "analysis.ipynb"}
    assert started["cell"] == "c1"

    on_ann.send({"type": "where", "room": room, "path": "work/analysis.ipynb", "cell": "c2", "activity": "editing"})
    moved = on_ben.expect("present", lambda f: f["cell"] == "c2", "the presenter's next cell")
    assert moved["presenter"]["name"] == "ann" and moved["notebook"]["path"] == "analysis.ipynb"

    assert api(ann, "POST", f"{room}/present", json={"on": False}).status_code == 204
    on_ben.expect("present", lambda f: f["presenter"] is None, "presenting stopped")

    assert api(ann, "POST", f"{room}/present", json={"on": True}).status_code == 204
    on_ben.expect("present", lambda f: f["presenter"] is not None, "presenting again")
    on_ann.close()  # ann's last JupyterLab page goes away: she no longer leads anyone
    on_ben.expect("present", lambda f: f["presenter"] is None, "the presenter gone")


def test_malformed_frames_get_an_error_and_the_socket_keeps_serving(
    machines: list[JupyterLab], ann_kernel: Room, sockets: list[LiveSocket]
) -> None:
    socket = live(machines[0], sockets)
    socket.expect("room", lambda f: f["room"] == ann_kernel.name)
    bad = [
        "not json",
        "[1, 2]",
        {"type": "shout"},
        {"type": "where"},
        {"type": "where", "room": ann_kernel.name, "activity": "dancing"},
        {"type": "where", "room": "nobody-s-room", "path": None},
    ]
    for frame in bad:
        socket.send(frame)
        error = socket.expect("error", what=f"an error for {frame!r}")
        assert error["message"] and "Traceback" not in error["message"]
    socket.send({"type": "ping"})
    socket.expect("pong")
    socket.send({"type": "where", "room": ann_kernel.name, "path": None, "cell": None, "activity": "running"})
    socket.expect("room", lambda f: (member(f, "ann") or {}).get("activity") == "running", "the where after errors")


def test_settings_and_invites_changed_in_a_kernel_reach_the_websocket(
    machines: list[JupyterLab], ann_kernel: Room, sockets: list[LiveSocket]
) -> None:
    socket = live(machines[0], sockets)
    socket.expect("room", lambda f: f["room"] == ann_kernel.name and f["settings"]["open_to"] == "invited")
    ann_kernel.settings(open_to="signed_in", role="editor")
    socket.expect("room", lambda f: f["settings"] == {"open_to": "signed_in", "role": "editor"}, "the new settings")
    invite = ann_kernel.invite("viewer")
    socket.expect("room", lambda f: [i["id"] for i in f["invites"]] == [invite.id], "the kernel's invite")


def test_a_room_joined_in_a_kernel_is_listed_live(
    machines: list[JupyterLab], ann_kernel: Room, rooms: list[Room], sockets: list[LiveSocket]
) -> None:
    socket = live(machines[1], sockets)
    assert all(r["room"] != ann_kernel.name for r in socket.expect("hello")["rooms"])
    rooms.append(nbrealtime.connect(invite=ann_kernel.invite("viewer"), user="ben"))  # ben's kernel joins
    listed = socket.expect("rooms", lambda f: {"room": ann_kernel.name, "role": "viewer"} in f["rooms"])
    assert all(r["role"] in ("owner", "editor", "viewer") for r in listed["rooms"])
    state = socket.expect("room", lambda f: f["room"] == ann_kernel.name, "the new room's state")
    assert state["role"] == "viewer" and member(state, "ben")["you"] is True
    ann_kernel.set_role("ben", "editor")
    socket.expect("rooms", lambda f: {"room": ann_kernel.name, "role": "editor"} in f["rooms"], "ben's new role")


def test_a_notification_names_only_a_notebook_of_the_room(ann_kernel: Room) -> None:
    with pytest.raises(ValueError, match=r"no notebook 'nope.ipynb' in room .* \(its notebooks: none yet\)"):
        ann_kernel.notify("room", "Look", notebook="nope.ipynb", cell="c1")
    with pytest.raises(ValueError, match="cell is the id of a cell"):
        ann_kernel.notify("room", "Look", cell="")


def test_a_viewer_who_presents_anyway_is_not_followed(
    machines: list[JupyterLab], ann_kernel: Room, rooms: list[Room], sockets: list[LiveSocket]
) -> None:
    """Presence is what each client says of itself: a viewer's kernel can claim to present, bypassing the API, so
    every server decides from the viewer's role (which only the backend writes) and ignores it."""
    socket = live(machines[0], sockets)
    socket.expect("room", lambda f: f["room"] == ann_kernel.name)
    viewer = nbrealtime.connect(invite=ann_kernel.invite("viewer"), user="vi")
    rooms.append(viewer)
    asyncio.run(viewer.presence.aset_presenting(True))
    asyncio.run(viewer.presence.aset_where(notebook=None, cell="v1", activity="editing"))
    socket.expect("room", lambda f: (member(f, "vi") or {}).get("cell") == "v1", "the viewer's cell")
    socket.send({"type": "ping"})
    socket.expect("pong")  # after any present frame of the same change
    assert not [f for f in socket.frames.seen if f.get("type") == "present" and f["presenter"] is not None]
