"""Presence in the real browser: two notebooks see each other, a third participant comes and goes."""

from __future__ import annotations

import asyncio

import pytest
from playwright.async_api import expect

pytestmark = pytest.mark.asyncio(loop_scope="session")

STATUS = "([name, status]) => window.__nbrt.memberStatus(name) === status"


async def test_each_notebook_shows_the_others_and_a_killed_peer_goes_offline(lab):
    alice, bob = await lab.open_all(
        lab.notebook("alice", "alice", "room.panel()"), lab.notebook("bob", "bob", "room.panel()")
    )
    for page, me, other in ((alice, "alice", "bob"), (bob, "bob", "alice")):
        await page.until(STATUS, [other, "online"], what=f"{other}'s badge online in {me}'s page")
        members = {m["name"]: m for m in await page.js("() => window.__nbrt.members()")}
        assert members[me]["self"] and members[me]["status"] == "online"
        assert not members[other]["self"]
        assert members[other]["initials"] == other[0].upper()
        for name in (me, other):
            assert await page.js("(n) => window.__nbrt.memberShown(n)", name), f"{name}'s badge is not visible"

    carol = await lab.peer("carol")
    for page in (alice, bob):
        await page.until(STATUS, ["carol", "online"], what="the peer's badge")
        await expect(page.page.locator(".nbrt-presence-summary")).to_have_text("3 online · you: editor")
    badge = alice.page.locator(".nbrt-presence li.nbrt-member[data-name^='carol']")
    await expect(badge).to_have_attribute("aria-label", "carol, Online, Role: editor")
    assert await alice.js("() => window.__nbrt.memberShown('carol')"), "the peer's badge is not visible"
    await alice.screenshot(alice.page.locator(".nbrt-room-panel"), "presence-panel")

    await asyncio.to_thread(carol.kill)
    for page in (alice, bob):
        await page.until(STATUS, ["carol", "offline"], what="the killed peer's badge to turn offline")
        await expect(page.page.locator(".nbrt-presence-summary")).to_have_text("2 online · you: editor")
        statuses = {m["name"]: m["status"] for m in await page.js("() => window.__nbrt.members()")}
        assert statuses == {"alice": "online", "bob": "online", "carol": "offline"}
