"""Rooms with roles through the public API: invites, refusals, viewers, and live role changes in another kernel."""

from __future__ import annotations

import time

import pytest

import nbrealtime
from nbrealtime import AccessDenied
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
