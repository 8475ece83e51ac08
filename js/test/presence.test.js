import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import presence, { REFRESH_MS, REPORT_DEBOUNCE_MS } from "../src/presence.js";
import { FakeModel, injected, mount, XSS } from "./fake-model.js";

const NOW = Date.parse("2025-01-01T12:00:00Z");
const ago = (min) => new Date(NOW - min * 60_000).toISOString();

const members = () => [
  { id: "c", name: "Carol Offline", color: "#ff0000", status: "offline", last_seen: ago(5), cell: null, activity: null, is_self: false },
  { id: "a", name: "Ada Lovelace", color: "#ffeb3b", status: "online", last_seen: null, cell: "cell-2", activity: "typing", is_self: true },
  { id: "b", name: "Bob", color: "#1a237e", status: "away", last_seen: ago(2), cell: null, activity: null, is_self: false },
];

describe("presence", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  it("renders avatars with initials, readable colours, status and ordering", () => {
    const model = new FakeModel({ members: members(), idle_after: 60 });
    const { el } = mount(presence, model);
    const items = [...el.querySelectorAll(".nbrt-member")];
    expect(items.map((li) => li.querySelector(".nbrt-avatar").textContent)).toEqual(["AL", "B", "CO"]);
    // yellow background → dark text; navy → white text
    expect(items[0].querySelector(".nbrt-avatar").style.color).toBe("rgb(0, 0, 0)");
    expect(items[1].querySelector(".nbrt-avatar").style.color).toBe("rgb(255, 255, 255)");
    expect(items[2].classList.contains("nbrt-member--offline")).toBe(true);
    expect(items[0].querySelector(".nbrt-status-dot").classList.contains("nbrt-status--online")).toBe(true);
    expect(items[0].getAttribute("aria-label")).toContain("Ada Lovelace (you)");
    expect(items[0].getAttribute("aria-label")).toContain("In cell cell-2");
    expect(items[0].getAttribute("aria-label")).toContain("typing");
    expect(items[2].getAttribute("aria-label")).toContain("Last seen 5 min ago");
    expect(el.querySelector(".nbrt-presence-summary").textContent).toBe("1 online · 1 away");
  });

  it("shows each member's role in their hover card and yours in the summary line", () => {
    const roles = { a: "owner", b: "viewer", c: "editor" };
    const model = new FakeModel({ members: members().map((m) => ({ ...m, role: roles[m.id] })), idle_after: 60 });
    const { el } = mount(presence, model);
    const items = [...el.querySelectorAll(".nbrt-member")];
    expect(items.map((li) => li.dataset.role)).toEqual(["owner", "viewer", "editor"]);
    expect(el.querySelector(".nbrt-presence-summary").textContent).toBe("1 online · 1 away · you: owner");
    items[1].dispatchEvent(new Event("mouseenter"));
    const card = el.querySelector(".nbrt-member-card");
    expect(card.hidden).toBe(false);
    expect([...card.children].map((line) => line.textContent)).toEqual(["Bob", "Away", "Role: viewer", "Last seen 2 min ago"]);
    expect(items[0].getAttribute("aria-label")).toContain("Role: owner");
    // demoted live: the open card and the summary follow
    model.set("members", members().map((m) => ({ ...m, role: m.id === "a" ? "viewer" : roles[m.id] })));
    expect(el.querySelector(".nbrt-presence-summary").textContent).toBe("1 online · 1 away · you: viewer");
    expect([...el.querySelector(".nbrt-member-card").children].map((l) => l.textContent)).toContain("Role: viewer");
    // a closed room vouches for nobody, your role included
    model.set("room_status", "closed");
    expect(el.querySelector(".nbrt-presence-summary").textContent).toBe("nobody online · room closed");
    model.set("room_status", "connected");
    // an unknown role is not shown as one
    model.set("members", members().map((m) => ({ ...m, role: m.id === "a" ? "<b>admin</b>" : null })));
    expect(el.querySelector(".nbrt-presence-summary").textContent).toBe("1 online · 1 away");
    expect(el.querySelector(".nbrt-member").getAttribute("aria-label")).not.toContain("Role");
  });

  it("updates live and refreshes 'last seen' every 30 s", () => {
    const model = new FakeModel({ members: members() });
    const { el } = mount(presence, model);
    model.set("members", [members()[0]]);
    expect(el.querySelectorAll(".nbrt-member")).toHaveLength(1);
    expect(el.querySelector(".nbrt-member").getAttribute("aria-label")).toContain("5 min ago");
    vi.advanceTimersByTime(REFRESH_MS * 4);
    expect(el.querySelector(".nbrt-member").getAttribute("aria-label")).toContain("7 min ago");
  });

  it("keeps names and colours as data (XSS)", () => {
    const model = new FakeModel({
      members: [{ id: "x", name: XSS, color: "red;background:url(javascript:alert(1))", status: "online", last_seen: null, cell: XSS, activity: XSS, is_self: false }],
    });
    const { el } = mount(presence, model);
    expect(injected()).toBe(0);
    const li = el.querySelector(".nbrt-member");
    expect(li.getAttribute("aria-label")).toContain(XSS);
    // the unsafe colour was replaced by the fallback
    expect(li.querySelector(".nbrt-avatar").getAttribute("style")).not.toContain("url(");
  });

  it("reports visibility and idleness, debounced", () => {
    const model = new FakeModel({ members: [], idle_after: 10 });
    mount(presence, model);
    vi.advanceTimersByTime(REPORT_DEBOUNCE_MS);
    expect(model.messages("activity")).toEqual([{ type: "activity", idle: false, visible: true }]);

    // activity keeps the user active
    vi.advanceTimersByTime(8_000);
    document.dispatchEvent(new KeyboardEvent("keydown", { key: "a" }));
    vi.advanceTimersByTime(8_000);
    expect(model.messages("activity")).toHaveLength(1);

    // quiet for idle_after seconds → idle
    vi.advanceTimersByTime(3_000);
    expect(model.messages("activity").at(-1)).toEqual({ type: "activity", idle: true, visible: true });

    // back; a burst of mouse moves sends one message
    for (let i = 0; i < 20; i++) document.dispatchEvent(new MouseEvent("mousemove"));
    vi.advanceTimersByTime(REPORT_DEBOUNCE_MS);
    expect(model.messages("activity")).toHaveLength(3);
    expect(model.messages("activity").at(-1)).toEqual({ type: "activity", idle: false, visible: true });

    // tab hidden
    const spy = vi.spyOn(document, "visibilityState", "get").mockReturnValue("hidden");
    document.dispatchEvent(new Event("visibilitychange"));
    vi.advanceTimersByTime(REPORT_DEBOUNCE_MS);
    expect(model.messages("activity").at(-1)).toEqual({ type: "activity", idle: false, visible: false });

    // a quick flip away and back sends nothing new
    spy.mockReturnValue("visible");
    document.dispatchEvent(new Event("visibilitychange"));
    spy.mockReturnValue("hidden");
    document.dispatchEvent(new Event("visibilitychange"));
    vi.advanceTimersByTime(REPORT_DEBOUNCE_MS);
    expect(model.messages("activity")).toHaveLength(4);
  });

  it("cleanup removes listeners, timers and DOM", () => {
    const model = new FakeModel({ members: members(), idle_after: 5 });
    const { el, cleanup } = mount(presence, model);
    vi.advanceTimersByTime(REPORT_DEBOUNCE_MS);
    const sent = model.sent.length;
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
    document.dispatchEvent(new Event("visibilitychange"));
    vi.advanceTimersByTime(60_000);
    expect(model.sent.length).toBe(sent);
  });
});
