import { describe, expect, it } from "vitest";
import sync from "../src/sync.js";
import { FakeModel, injected, mount, XSS } from "./fake-model.js";

const traits = (over = {}) => ({ state: "synced", pending: 0, room: "team-notebook", user: { name: "Ada Lovelace", color: "#e91e63" }, ...over });
const label = (el) => el.querySelector(".nbrt-sync-label").textContent;

describe("sync indicator", () => {
  it("renders state, room and the user's avatar", () => {
    const { el } = mount(sync, new FakeModel(traits()));
    const root = el.querySelector(".nbrt-sync");
    expect(label(el)).toBe("Synced");
    expect(root.classList.contains("nbrt-sync--synced")).toBe(true);
    expect(el.querySelector(".nbrt-sync-room").textContent).toBe("team-notebook");
    expect(el.querySelector(".nbrt-avatar").textContent).toBe("AL");
    expect(el.querySelector(".nbrt-sync-status").getAttribute("role")).toBe("status");
  });

  it("updates live with pending counts", () => {
    const model = new FakeModel(traits());
    const { el } = mount(sync, model);
    model.set("state", "saving");
    model.set("pending", 3);
    expect(label(el)).toBe("Saving… (3 pending)");
    expect(el.querySelector(".nbrt-sync").classList.contains("nbrt-sync--saving")).toBe(true);
    model.set("state", "offline");
    expect(label(el)).toBe("Offline (3 queued)");
    expect(el.querySelector(".nbrt-sync").classList.contains("nbrt-sync--offline")).toBe(true);
    model.set("pending", 0);
    expect(label(el)).toBe("Offline");
    model.set("state", "connecting");
    expect(label(el)).toBe("Connecting…");
    model.set("state", "closed");
    expect(label(el)).toBe("Room closed");
    model.set("room", "other");
    expect(el.querySelector(".nbrt-sync-room").textContent).toBe("other");
    model.set("user", { name: "Grace Hopper", color: "#000" });
    expect(el.querySelector(".nbrt-avatar").textContent).toBe("GH");
  });

  it("keeps room and user names as text (XSS)", () => {
    const { el } = mount(sync, new FakeModel(traits({ room: XSS, user: { name: XSS, color: XSS }, state: XSS })));
    expect(injected()).toBe(0);
    expect(el.querySelector(".nbrt-sync-room").textContent).toBe(XSS);
    expect(el.querySelector(".nbrt-sync-username").textContent).toBe(XSS);
    expect(el.querySelector(".nbrt-sync").className).toBe("nbrt-root nbrt-sync nbrt-sync--connecting");
  });

  it("cleanup removes listeners and DOM", () => {
    const model = new FakeModel(traits());
    const { el, cleanup } = mount(sync, model);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
  });
});
