"""The room sidebar of the lab extension (#16) in the real browser, on two JupyterLab servers (alice and bob) with a
third person (carol) as a kernel: members, roles and status live; an owner's invite, role change and removal, each
seen on the other server; a viewer without owner controls; joining by an invite pasted into the sidebar."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

from tests.browser.labui import People
from tests.jupyter.support import lab_api

pytestmark = [pytest.mark.asyncio(loop_scope="session"), pytest.mark.lab_ui]


async def test_joining_by_invite_and_members_with_roles_and_live_status_on_both_servers(people: People) -> None:
    room = people.room_name
    alice_kernel = await people.kernel("alice")  # creates the room: alice owns it
    alice = await people.lab("alice")
    await expect(alice.room(room)).to_be_visible()
    await expect(alice.room(room).locator(".nbrt-lab-room-name")).to_have_text(f"{room}owner")
    await expect(alice.member(room, "alice")).to_contain_text("alice (you)owner")

    # alice makes an editor's invite in her sidebar: the link is on her clipboard and listed with a Revoke button
    section = alice.room(room)
    await section.get_by_label(f"Role of the people a new invite to {room} lets in").select_option("editor")
    await section.get_by_role("button", name="Create invite link").click()
    await expect(section.locator(".nbrt-lab-room-status")).to_have_text(
        "Invite link for a new editor created: copied to the clipboard."
    )
    link = await alice.js("() => navigator.clipboard.readText()")
    await expect(section.locator(".nbrt-lab-invite-row")).to_have_count(1)
    await expect(section.get_by_label("Invite link for an editor")).to_have_value(link)

    # bob, on the other server: a bad paste says why and keeps his text; the link joins him as an editor
    bob = await people.lab("bob")
    await bob.join("come in")
    status = bob.sidebar.locator(".nbrt-lab-join-status")
    await expect(status).to_contain_text("not an nbrealtime invite")
    await expect(status).to_have_class("nbrt-lab-status nbrt-lab-join-status nbrt-lab-error")
    await expect(bob.sidebar.get_by_label("Invite link or text to join a room")).to_have_value("come in")
    bob.expected_error("status of 400 (Bad Request)")
    await bob.join(link)
    await expect(status).to_have_text(f"Joined {room} as editor.")
    await expect(bob.member(room, "bob")).to_contain_text("bob (you)editor")
    await expect(bob.member(room, "alice")).to_contain_text("aliceowner")
    await expect(bob.member(room, "alice")).to_have_attribute("data-status", "online")
    await expect(alice.member(room, "bob")).to_contain_text("bobeditor")
    await expect(alice.member(room, "bob")).to_have_attribute("data-status", "online")

    # carol is a kernel only: she shows up on both servers, goes away, then leaves
    carol = await people.kernel("carol", invite=await asyncio.to_thread(alice_kernel.invite, "viewer"))
    for view in (alice, bob):
        await expect(view.member(room, "carol")).to_have_attribute("data-status", "online")
        await expect(view.member(room, "carol")).to_contain_text("carolviewer")
    await asyncio.to_thread(carol.presence.update, status="away", activity="running")
    for view in (alice, bob):
        await expect(view.member(room, "carol")).to_have_attribute("data-status", "away")
        await expect(view.member(room, "carol").locator(".nbrt-lab-member-status")).to_have_text("away")
        await expect(view.member(room, "carol").locator(".nbrt-lab-where")).to_have_text("running")
    await expect(alice.room(room).locator(".nbrt-lab-count")).to_have_text("3 of 3 online")
    await asyncio.to_thread(carol.close)
    people.kernels.remove(carol)
    for view in (alice, bob):
        await expect(view.member(room, "carol")).to_have_attribute("data-status", "offline")
        await expect(view.member(room, "carol").locator(".nbrt-lab-member-status")).to_have_text(
            "offline, last seen just now"
        )
    await expect(alice.room(room).locator(".nbrt-lab-count")).to_have_text("2 of 3 online")

    for view in (alice, bob):
        await view.page.mouse.move(0, 0)  # no hover highlight in the screenshots
    for theme in ("light", "dark"):
        await alice.set_theme(theme)
        await alice.screenshot(alice.sidebar, f"lab-sidebar-owner-{theme}")
        await bob.set_theme(theme)
        await bob.screenshot(bob.sidebar, f"lab-sidebar-editor-{theme}")

    # revoking the editor invite takes it off the list (the kernel's viewer invite, used once, stays)
    await section.get_by_role("button", name="Revoke the editor invite").click()
    await expect(section.locator(".nbrt-lab-room-status")).to_have_text("The editor invite was revoked.")
    await expect(section.locator(".nbrt-lab-invite-row")).to_have_count(1)
    await expect(section.locator(".nbrt-lab-invite-text")).to_have_text("viewer · used 1×")


async def test_an_owner_changes_a_role_and_removes_someone_seen_on_the_other_server(people: People) -> None:
    room = people.room_name
    alice_kernel = await people.kernel("alice")
    joined = lab_api(people.machines["bob"], "POST", "rooms/join",
                     json={"invite": str(await asyncio.to_thread(alice_kernel.invite, "editor"))})  # fmt: skip
    assert joined.status_code == 200, joined.text
    await people.kernel("carol", invite=await asyncio.to_thread(alice_kernel.invite, "editor"))
    alice = await people.lab("alice")
    bob = await people.lab("bob")
    for view in (alice, bob):
        await expect(view.member(room, "carol")).to_contain_text("caroleditor")
    # an editor sees who is there but no owner controls
    await expect(bob.room(room).get_by_role("button", name="Create invite link")).to_have_count(0)
    await expect(bob.room(room).locator(".nbrt-lab-member-controls")).to_have_count(0)
    await expect(alice.room(room).locator(".nbrt-lab-member-controls")).to_have_count(2)  # bob's and carol's

    # alice makes bob a viewer: bob's own sidebar says so (and still shows no owner controls)
    await alice.room(room).get_by_label("Role of bob").select_option("viewer")
    await expect(alice.room(room).locator(".nbrt-lab-room-status")).to_have_text("bob is now a viewer.")
    await expect(bob.room(room).locator(".nbrt-lab-room-name")).to_have_text(f"{room}viewer")
    await expect(bob.member(room, "bob")).to_contain_text("bob (you)viewer")
    await expect(alice.member(room, "bob")).to_contain_text("bobviewer")
    await expect(alice.room(room).get_by_label("Role of bob")).to_have_value("viewer")
    await expect(bob.room(room).locator(".nbrt-lab-owner")).to_have_count(0)
    await expect(bob.room(room).locator("select")).to_have_count(0)

    # with the keyboard only: focus stays on the role picker while the new state redraws the sidebar
    carol_role = alice.room(room).get_by_label("Role of carol")
    await carol_role.focus()
    await alice.page.keyboard.press("ArrowUp")  # editor → viewer
    await expect(bob.member(room, "carol")).to_contain_text("carolviewer")
    await expect(carol_role).to_have_value("viewer")
    await expect(carol_role).to_be_focused()

    # alice removes carol (JupyterLab's dialog asks first): she is gone on both servers
    await alice.room(room).get_by_role("button", name=f"Remove carol from {room}").click()
    dialog = alice.page.locator(".jp-Dialog")
    await expect(dialog).to_contain_text(f"Remove carol from {room}?")
    await dialog.get_by_role("button", name="Remove").click()
    await expect(alice.room(room).locator(".nbrt-lab-room-status")).to_have_text("carol was removed.")
    for view in (alice, bob):
        await expect(view.member(room, "carol")).to_have_count(0)
        await expect(view.member(room, "bob")).to_have_count(1)

    # and opens the room to anyone signed in, as editors: the server agrees
    await alice.room(room).get_by_label(f"Who can join {room}").select_option("signed_in")
    await expect(alice.room(room).get_by_label("Role of people who join without an invite")).to_be_enabled()
    await alice.room(room).get_by_label("Role of people who join without an invite").select_option("editor")
    await expect(alice.room(room).locator(".nbrt-lab-room-status")).to_have_text("Anyone signed in joins as editor.")
    state = lab_api(people.machines["bob"], "GET", f"rooms/{room}").json()
    assert state["settings"] == {"open_to": "signed_in", "role": "editor"}

    # removing bob takes the room out of his sidebar
    await alice.room(room).get_by_role("button", name=f"Remove bob from {room}").click()
    await alice.page.locator(".jp-Dialog").get_by_role("button", name="Remove").click()
    await expect(alice.member(room, "bob")).to_have_count(0)
    await expect(bob.room(room)).to_have_count(0)
