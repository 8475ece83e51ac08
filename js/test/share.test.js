import { describe, expect, it, vi } from "vitest";
import share, { inviteState } from "../src/share.js";
import { FakeModel, injected, mount, XSS } from "./fake-model.js";

const traits = (over = {}) => ({
  room: "lab",
  role: "owner",
  error: "",
  invites: [
    { id: "i1", role: "editor", uses: 0, max_uses: 1, expires_at: null, revoked: false, usable: true, text: "nbrt-invite:lab:abc" },
    { id: "i2", role: "viewer", uses: 3, max_uses: null, expires_at: null, revoked: true, usable: false, text: null },
  ],
  members: [
    { id: "u1", name: "alice", color: "#e6194b", role: "owner", is_self: true, status: "online" },
    { id: "u2", name: XSS, color: "#3cb44b", role: "editor", is_self: false, status: "online" },
  ],
  ...over,
});

describe("share", () => {
  it("describes invites", () => {
    expect(inviteState({ uses: 1, max_uses: 2, usable: true })).toBe("1/2 uses");
    expect(inviteState({ uses: 1, max_uses: null, usable: true })).toBe("1 use");
    expect(inviteState({ uses: 0, max_uses: null, usable: true })).toBe("0 uses");
    expect(inviteState({ revoked: true })).toBe("revoked");
    expect(inviteState({ uses: 2, max_uses: 2, usable: false })).toBe("2/2 uses · no longer usable");
  });

  it("lets an owner invite, copy, revoke, change roles and remove, sending each to the kernel", () => {
    const model = new FakeModel(traits());
    const { el, cleanup } = mount(share, model);
    expect(el.querySelector(".nbrt-share-title").textContent).toBe("Room lab · you are owner");
    const invites = [...el.querySelectorAll(".nbrt-share-invite")];
    expect(invites[0].querySelector(".nbrt-share-invite-text").textContent).toBe("nbrt-invite:lab:abc");
    expect(invites[1].querySelector(".nbrt-share-copy").disabled).toBe(true);
    expect(invites[1].querySelector(".nbrt-share-revoke").disabled).toBe(true);
    el.querySelector(".nbrt-share-create").click();
    invites[0].querySelector(".nbrt-share-revoke").click();
    const role = el.querySelector(".nbrt-share-member .nbrt-share-role");
    role.value = "viewer";
    role.dispatchEvent(new Event("change"));
    el.querySelector(".nbrt-share-remove").click();
    expect(model.sent.map((m) => m.content)).toEqual([
      { type: "invite", role: "editor" },
      { type: "revoke", id: "i1" },
      { type: "set_role", member: "u2", role: "viewer" },
      { type: "remove", member: "u2" },
    ]);
    expect(el.querySelectorAll(".nbrt-share-remove").length).toBe(1); // never for yourself
    expect(injected()).toBe(0);
    cleanup();
    expect(model.listenerCount()).toBe(0);
  });

  it("copies an invite's text and says whether it did", async () => {
    const writes = [];
    let refuse = false;
    Object.defineProperty(navigator, "clipboard", {
      configurable: true,
      value: { writeText: (text) => (refuse ? Promise.reject(new Error("denied")) : (writes.push(text), Promise.resolve())) },
    });
    try {
      const { el } = mount(share, new FakeModel(traits()));
      const copy = el.querySelector(".nbrt-share-copy");
      expect(copy.textContent).toBe("Copy");
      copy.click();
      await vi.waitFor(() => expect(copy.textContent).toBe("Copied"));
      expect(writes).toEqual(["nbrt-invite:lab:abc"]);
      refuse = true;
      copy.click();
      await vi.waitFor(() => expect(copy.textContent).toBe("Select the text to copy"));
    } finally {
      delete navigator.clipboard;
    }
  });

  it("shows others only the roles, and the kernel's refusal", () => {
    const model = new FakeModel(traits({ role: "viewer", invites: [] }));
    const { el } = mount(share, model);
    expect(el.querySelector(".nbrt-share-owner").hidden).toBe(true);
    expect([...el.querySelectorAll(".nbrt-share-member-role")].map((n) => n.textContent)).toEqual(["owner", "editor"]);
    model.set("error", "only an owner of room 'lab' can change roles");
    expect(el.querySelector(".nbrt-share-error").textContent).toContain("only an owner");
    expect(el.querySelector(".nbrt-share-error").hidden).toBe(false);
  });
});
