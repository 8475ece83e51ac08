"""Rooms with roles through the public API: invites, refusals, viewers, and live role changes in another kernel."""

from __future__ import annotations

import base64
import time

import pytest
from pycrdt import Doc, Text

import nbrealtime
from nbrealtime import AccessDenied
from nbrealtime.client.connection import envelope
from nbrealtime.client.socket import open_sockets
from nbrealtime.features.shared_cell import CELL_EVENT
from tests.client.support import Events, Peer, until_members


def test_invites_decide_who_joins_and_as_what(rooms, env) -> None:
    alice = nbrealtime.connect("team", user="alice")
    rooms.append(alice)
    assert alice.role == "owner", "the first to connect creates the room"
    with pytest.raises(AccessDenied, match=r"room 'team' is invite-only.*ask an owner of the room for an invite"):
        nbrealtime.connect("team", user="bob")

    once = alice.invite("viewer", uses=1)
    assert str(once).startswith("nbrt-invite:team:")
    bob = nbrealtime.connect(invite=str(once), user="bob")
    rooms.append(bob)
    assert (bob.name, bob.role) == ("team", "viewer")
    with pytest.raises(AccessDenied, match="has been used up"):
        nbrealtime.connect(invite=once, user="carol")

    # A viewer watches and talks, but changes nothing.
    inbox = Events()
    alice.on("hi", lambda payload, sender: inbox.put((payload, sender.name)))
    bob.send("hi", {"from": "a viewer"})
    assert inbox.expect(lambda item: True) == ({"from": "a viewer"}, "bob")
    until_members(bob, lambda members: "alice" in members, "alice known to bob")
    assert bob.notify("alice", "a viewer may notify")
    with pytest.raises(PermissionError, match="viewer in room 'team' and cannot edit shared cells"):
        bob.cell("notes").insert(0, "x")
    with pytest.raises(PermissionError, match="cannot change collection 'tasks'"):
        bob.collection("tasks").insert({"id": "t1"})
    assert bob.collection("tasks").read_only and alice.collection("tasks").read_only is None
    with pytest.raises(AccessDenied, match="cannot invite people"):
        bob.invite()

    listed = alice.invites()
    assert [(i.role, i.uses, i.max_uses, i.usable) for i in listed] == [("viewer", 1, 1, False)]
    revoked = alice.invite("editor")
    alice.revoke(revoked)
    with pytest.raises(AccessDenied, match="was revoked"):
        nbrealtime.connect(invite=revoked, user="carol")
    expired = alice.invite("editor", expires=0.001)
    time.sleep(0.01)  # the invite's lifetime, not synchronisation: it must be in the past
    with pytest.raises(AccessDenied, match="has expired"):
        nbrealtime.connect(invite=expired, user="carol")

    assert alice.settings() == {"open_to": "invited", "role": "viewer"}
    assert alice.settings(open_to="signed_in", role="editor") == {"open_to": "signed_in", "role": "editor"}
    carol = nbrealtime.connect("team", user="carol")
    rooms.append(carol)
    assert carol.role == "editor"


def test_role_changes_and_removal_reach_the_other_kernel(rooms, peers, env) -> None:
    alice = nbrealtime.connect("live", user="alice")
    rooms.append(alice)
    bob = Peer("live", "bob", env, invite=alice.invite("editor"))
    peers.append(bob)
    bob.do("role")
    bob.events.expect(lambda e: e.get("role") == "editor", what="bob's role")
    bob.do("cell_insert", cell="c", index=0, text="by bob ")
    until_members(alice, lambda m: "bob" in m and m["bob"].role == "editor", "bob listed as an editor")

    alice.set_role("bob", "viewer")
    started = time.monotonic()
    bob.events.expect(lambda e: e.get("role") == "viewer", what="bob to learn he is a viewer")
    assert time.monotonic() - started < 5
    until_members(alice, lambda m: m["bob"].role == "viewer", "everyone sees bob as a viewer")
    bob.process.stdin.write('{"do": "cell_insert", "cell": "c", "index": 0, "text": "no"}\n')  # type: ignore[union-attr]
    bob.process.stdin.flush()  # type: ignore[union-attr]
    refused = bob.events.expect(lambda e: "error" in e, what="the viewer's edit to be refused")
    assert "viewer in room 'live'" in refused["error"]
    bob.do("send", event="still", payload="talking")  # a viewer still talks

    alice.remove("bob")
    bob.events.expect(lambda e: "role" in e and e["role"] is None, what="bob to learn he was removed")
    until_members(alice, lambda m: "bob" not in m, "bob gone from alice's members")
    bob.process.stdin.write('{"do": "send", "event": "x", "payload": 1}\n')  # type: ignore[union-attr]
    bob.process.stdin.flush()  # type: ignore[union-attr]
    refused = bob.events.expect(lambda e: "error" in e, what="the removed member's send to be refused")
    assert "no longer a member of room 'live'" in refused["error"]
    with pytest.raises(ValueError, match="no member named 'bob'"):
        alice.set_role("bob", "editor")


def test_one_socket_per_kernel_and_user_whatever_is_open(rooms, env) -> None:
    """A room, its shared-cell channel and its collections share one websocket; another user gets their own."""
    before = open_sockets()  # other tests' rooms in this process are closed, but count only what this one opens
    alice = nbrealtime.connect("sockets", user="alice")
    rooms.append(alice)
    alice.cell("c").insert(0, "x")
    for n in range(3):
        alice.collection(f"t{n}").insert({"id": "a"}).wait()
    assert open_sockets() == before + 1
    channels = [alice._channel, alice._cells_channel, *(table._channel for table in alice._tables.values())]
    assert len(channels) == 5 and len({id(channel._client) for channel in channels}) == 1  # type: ignore[union-attr]
    bob = nbrealtime.connect(invite=alice.invite(), user="bob")
    rooms.append(bob)
    assert open_sockets() == before + 2
    bob.close()
    alice.close()
    assert open_sockets() == before


def test_share_view_and_table_view_follow_roles(rooms, env) -> None:
    """The kernel side of the widgets: the share view acts through the room, the table view turns read-only."""
    from nbrealtime.widgets.share import ShareWidget
    from nbrealtime.widgets.table import LiveTableWidget

    alice = nbrealtime.connect("shared", user="alice")
    rooms.append(alice)
    view = alice.share()
    assert isinstance(view, ShareWidget) and (view.room, view.role, view.invites) == ("shared", "owner", [])
    view.handle({"type": "invite", "role": "viewer"}, [])
    [made] = view.invites
    assert made["role"] == "viewer" and made["text"].startswith("nbrt-invite:shared:") and made["usable"]
    assert made["uses"] == 0
    listed = Events()
    view.observe(lambda change: listed.put(change["new"]), names="invites")
    bob = nbrealtime.connect(invite=made["text"], user="bob")
    rooms.append(bob)
    table = LiveTableWidget(bob.collection("tasks"))
    assert (table.editable, table.read_only) == (
        False,
        "you are a viewer in room 'shared' and cannot change "
        "collection 'tasks': ask an owner to make you owner or editor",
    )
    until_members(alice, lambda m: "bob" in m and m["bob"].role == "viewer", "bob listed as a viewer")
    assert {m["name"]: m["role"] for m in view.members} == {"alice": "owner", "bob": "viewer"}
    # Bob's arrival lists the invites again: the one he used shows it, and keeps its copyable text.
    [used] = listed.expect(lambda invites: invites[0]["uses"] == 1, what="the invite's use listed")
    assert used["text"] == made["text"]
    roles = Events()
    bob.on_role(roles.put)
    view.handle({"type": "set_role", "member": bob.me.id, "role": "editor"}, [])
    roles.expect(lambda role: role == "editor", what="bob promoted")
    assert (table.editable, table.read_only) == (True, None)
    view.handle({"type": "revoke", "id": made["id"]}, [])
    assert view.invites[0]["revoked"] and view.error == ""
    view.handle({"type": "set_role", "member": alice.me.id, "role": "viewer"}, [])
    assert "would have no owner" in view.error


def test_a_viewer_cannot_slip_cell_edits_past_the_rules(rooms, env) -> None:
    """A viewer's forged cell update, on the cells channel (the server drops it) or on the room channel (kernels
    ignore cell events there), changes nobody's cell."""
    alice = nbrealtime.connect("forge", user="alice")
    rooms.append(alice)
    cell = alice.cell("c")
    cell.insert(0, "honest")
    bob = nbrealtime.connect(invite=alice.invite("viewer"), user="bob")
    rooms.append(bob)
    bob.cell("c")  # opens bob's cells channel
    forged = Doc()
    text = forged.get("source", type=Text)
    forged.apply_update(cell.update_since())
    before = forged.get_state()
    text.insert(0, "EVIL ")
    update = {"cell": "c", "update": base64.b64encode(forged.get_update(before)).decode()}
    arrived = Events()
    alice.on("after", lambda payload, sender: arrived.put(payload))
    for channel in (bob._cells_channel, bob._channel):
        bob._run(channel.post(CELL_EVENT, envelope(bob.me.id, update)), 10)  # type: ignore[union-attr]
    bob.send("after", 1)  # same socket, same order: once this is in, the forgeries were handled
    arrived.expect(lambda payload: payload == 1, what="bob's marker")
    assert cell.text == "honest"

    # Liveness: the same update from an editor, on the cells channel, is applied.
    roles = Events()
    bob.on_role(roles.put)
    alice.set_role("bob", "editor")
    roles.expect(lambda role: role == "editor", what="bob promoted")
    changed = Events()
    cell.on_change(changed.put)
    bob._run(bob._cells_channel.post(CELL_EVENT, envelope(bob.me.id, update)), 10)  # type: ignore[union-attr]
    changed.expect(lambda text: text == "EVIL honest", what="the editor's update")
