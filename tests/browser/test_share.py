"""The owner's share view (``room.share()``) in the real browser: an invite made and copied there lets a second
participant in, the role picker and the remove button act on that participant's own kernel, and both rooms' panels
show everyone's role."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

# Bob's kernel waits for its own role to change (on_role, with a deadline) instead of being polled from outside.
WAIT_ROLE = """import threading

def wait_role(want, timeout=30.0):
    changed = threading.Event()
    room.on_role(lambda role: changed.set() if role == want else None)
    if room.role != want and not changed.wait(timeout):
        raise AssertionError(f"role stayed {room.role!r}, wanted {want!r}")
    return room.role"""


async def test_the_owner_invites_promotes_and_removes_from_the_share_view(lab):
    own_room = f"{lab.room}-share"  # alice creates it, so she owns it; nobody else may enter without an invite
    alice = await lab.open(lab.notebook("alice", "alice", "room", "room.share()", room=own_room))
    share = alice.page.locator(".nbrt-share")
    await expect(share.locator(".nbrt-share-title")).to_have_text(f"Room {own_room} · you are owner")
    await expect(alice.page.locator(".nbrt-presence-summary")).to_contain_text("you: owner")

    # A viewer invite, made with the view's own picker and button, is listed with its text and a working Copy.
    await share.get_by_label("role of the new invite").select_option("viewer")
    await share.locator(".nbrt-share-create").click()
    invite = share.locator(".nbrt-share-invite")
    await expect(invite).to_have_count(1)
    await expect(invite.locator(".nbrt-share-invite-role")).to_have_text("viewer")
    await expect(share.locator(".nbrt-share-error")).to_be_hidden()
    text = await invite.locator(".nbrt-share-invite-text").text_content()
    assert text, "the new invite shows the text to send"
    copy = invite.locator(".nbrt-share-copy")
    await expect(copy).to_be_enabled()
    await alice.page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=lab.jupyter.url)
    await copy.click()
    await expect(copy).to_have_text("Copied")
    assert await alice.js("() => navigator.clipboard.readText()") == text

    # Bob joins with the copied invite, as a viewer, and his panel says so.
    connect = f"import nbrealtime\nroom = nbrealtime.connect({own_room!r}, user='bob', invite={text!r})"
    bob = await lab.open(lab.jupyter.write_notebook(f"{lab.room}-bob", [connect, WAIT_ROLE, "room"]))
    assert await bob.value("room.role") == "viewer"
    await expect(bob.page.locator(".nbrt-presence-summary")).to_contain_text("you: viewer")
    await expect(invite.locator(".nbrt-share-invite-state")).to_have_text("1 use")  # the owner's list is current

    # Alice sees bob with his role: in her panel's hover card and, with a picker and a remove button, in the share view.
    bob_badge = alice.page.locator(".nbrt-presence .nbrt-member[data-name='bob']")
    await expect(bob_badge).to_have_attribute("data-role", "viewer")
    await bob_badge.hover()
    await expect(alice.page.locator(".nbrt-member-card")).to_contain_text("Role: viewer")
    await alice.screenshot(alice.page.locator(".nbrt-room-panel"), "panel-owner")
    picker = share.get_by_label("role of bob")
    await alice.screenshot(share, "share-with-viewer")
    await expect(picker).to_have_value("viewer")

    await picker.select_option("editor")
    assert await bob.value("wait_role('editor')") == "editor"
    await expect(bob.page.locator(".nbrt-presence-summary")).to_contain_text("you: editor")
    await expect(bob_badge).to_have_attribute("data-role", "editor")
    await expect(share.get_by_label("role of bob")).to_have_value("editor")
    await expect(share.locator(".nbrt-share-error")).to_be_hidden()

    await alice.screenshot(share, "share-promoted")
    await share.locator(".nbrt-share-member", has_text="bob").locator(".nbrt-share-remove").click()
    assert await bob.value("wait_role(None)") is None
    await expect(share.locator(".nbrt-share-member", has_text="bob")).to_have_count(0)
    await expect(share.locator(".nbrt-share-error")).to_be_hidden()
    await alice.screenshot(share, "share-removed")
    assert await alice.value("[m.name for m in room.presence.members if m.role is not None]") == ["alice"]
