import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import notifications from "../src/notifications.js";
import { FakeModel, injected, mount, XSS } from "./fake-model.js";

const NOW = Date.parse("2025-01-01T12:00:00Z");
let seq = 0;
const note = (over = {}) => ({
  id: `n${++seq}`,
  title: "Build finished",
  message: "All green",
  kind: "success",
  sender_name: "Ada",
  created_at: new Date(NOW - 120_000).toISOString(),
  read: false,
  pending: false,
  ...over,
});

const toasts = () => [...document.querySelectorAll(".nbrt-toast")];

describe("notifications", () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.setSystemTime(NOW);
  });
  afterEach(() => vi.useRealTimers());

  it("shows the bell with an unread badge and a drop-down list", () => {
    const a = note({ title: "First" });
    const b = note({ title: "Second", read: true, kind: "error" });
    const model = new FakeModel({ notifications: [a, b], unread_count: 1, toast_seconds: 6 });
    const { el } = mount(notifications, model);
    const bell = el.querySelector(".nbrt-bell");
    expect(el.querySelector(".nbrt-badge").textContent).toBe("1");
    expect(bell.getAttribute("aria-label")).toBe("Notifications, 1 unread");
    expect(el.querySelector(".nbrt-panel").hidden).toBe(true);
    expect(toasts()).toHaveLength(0); // existing notifications do not toast

    bell.click();
    expect(el.querySelector(".nbrt-panel").hidden).toBe(false);
    expect(bell.getAttribute("aria-expanded")).toBe("true");
    const items = [...el.querySelectorAll(".nbrt-notif")];
    expect(items.map((i) => i.querySelector(".nbrt-notif-title").textContent)).toEqual(["First", "Second"]);
    expect(items[0].classList.contains("nbrt-notif--unread")).toBe(true);
    expect(items[1].classList.contains("nbrt-kind-error")).toBe(true);
    expect(items[0].querySelector(".nbrt-notif-meta").textContent).toBe("from Ada · 2 min ago");

    items[0].querySelector(".nbrt-mark-read").click();
    expect(model.messages("mark_read")).toEqual([{ type: "mark_read", id: a.id }]);
    el.querySelector(".nbrt-mark-all").click();
    expect(model.messages("mark_all_read")).toEqual([{ type: "mark_all_read" }]);

    // Escape closes
    el.querySelector(".nbrt-notifications").dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(el.querySelector(".nbrt-panel").hidden).toBe(true);
  });

  it("Escape still closes the drop-down after a mark-read redraw took the focused button away", () => {
    const a = note({ title: "First" });
    const model = new FakeModel({ notifications: [a], unread_count: 1 });
    const { el } = mount(notifications, model);
    const bell = el.querySelector(".nbrt-bell");
    const panel = el.querySelector(".nbrt-panel");
    bell.click();
    const mark = el.querySelector(".nbrt-mark-read");
    mark.focus();
    mark.click();
    model.set("notifications", [{ ...a, pending: true }]); // the kernel's answer redraws the list
    expect(mark.isConnected).toBe(false);
    expect(panel.contains(document.activeElement)).toBe(true); // focus stays in the drop-down
    document.activeElement.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(panel.hidden).toBe(true);
    expect(document.activeElement).toBe(bell);
  });

  it("Escape with the focus on <body> closes an open drop-down; Escape elsewhere is left alone", () => {
    const model = new FakeModel({ notifications: [note()], unread_count: 1 });
    const { el } = mount(notifications, model);
    const outside = document.createElement("textarea");
    document.body.append(outside);
    const panel = el.querySelector(".nbrt-panel");
    el.querySelector(".nbrt-bell").click();
    outside.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(panel.hidden).toBe(false); // a cell editor's Escape is not ours
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(panel.hidden).toBe(true);
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "Escape", bubbles: true }));
    expect(panel.hidden).toBe(true); // closed stays closed
  });

  it("the drop-down floats at the bell (fixed, inside the widget) instead of pushing the cells below down", () => {
    const css = readFileSync(join(import.meta.dirname, "..", "src", "styles", "notifications.css"), "utf8");
    const rule = /\.nbrt-panel \{([^}]*)\}/.exec(css)[1];
    expect(rule).toContain("position: fixed");
    const model = new FakeModel({ notifications: [note()], unread_count: 1 });
    const { el } = mount(notifications, model);
    el.querySelector(".nbrt-bell").click();
    const panel = el.querySelector(".nbrt-panel");
    expect(el.contains(panel)).toBe(true);
    expect(panel.style.top).toMatch(/px$/);
    expect(panel.style.left).toMatch(/px$/);
  });

  it("updates live; pending reads are marked", () => {
    const a = note();
    const model = new FakeModel({ notifications: [a], unread_count: 1 });
    const { el } = mount(notifications, model);
    el.querySelector(".nbrt-bell").click();
    model.set("notifications", [{ ...a, pending: true }]);
    expect(el.querySelector(".nbrt-notif").classList.contains("nbrt-pending")).toBe(true);
    model.set("unread_count", 0);
    expect(el.querySelector(".nbrt-badge").hidden).toBe(true);
    expect(el.querySelector(".nbrt-mark-all").disabled).toBe(true);
    model.set("notifications", []);
    expect(el.querySelector(".nbrt-empty").textContent).toBe("No notifications");
  });

  it("toasts new notifications in a polite live region, auto-dismissing with pause on hover", () => {
    const model = new FakeModel({ notifications: [], unread_count: 0, toast_seconds: 6 });
    mount(notifications, model);
    const region = document.querySelector(".nbrt-toasts");
    expect(region.getAttribute("aria-live")).toBe("polite");

    const a = note({ title: "Hello", kind: "warning" });
    model.set("notifications", [a]);
    expect(toasts()).toHaveLength(1);
    expect(toasts()[0].classList.contains("nbrt-kind-warning")).toBe(true);
    expect(region.contains(toasts()[0])).toBe(true);

    const b = note({ title: "Second" });
    model.set("notifications", [b, a]);
    expect(toasts()).toHaveLength(2); // stacked; `a` is not toasted again

    // hover pauses the timer of the hovered toast
    toasts()[1].dispatchEvent(new MouseEvent("mouseenter"));
    vi.advanceTimersByTime(10_000);
    expect(toasts().map((t) => t.querySelector(".nbrt-toast-title").textContent)).toEqual(["Second"]);
    toasts()[0].dispatchEvent(new MouseEvent("mouseleave"));
    vi.advanceTimersByTime(5_000);
    expect(toasts()).toHaveLength(1);
    vi.advanceTimersByTime(1_500);
    expect(toasts()).toHaveLength(0);
  });

  it("clicking a toast marks it read; the close button only dismisses", () => {
    const model = new FakeModel({ notifications: [], unread_count: 0 });
    mount(notifications, model);
    const a = note();
    const b = note();
    model.set("notifications", [b, a]);
    toasts()[0].querySelector(".nbrt-toast-body").click();
    expect(model.messages("mark_read")).toEqual([{ type: "mark_read", id: a.id }]);
    toasts()[0].querySelector(".nbrt-toast-close").click();
    expect(model.messages("mark_read")).toHaveLength(1);
    expect(toasts()).toHaveLength(0);
  });

  it("a notification read elsewhere closes its toast; read ones never toast", () => {
    const model = new FakeModel({ notifications: [], unread_count: 0 });
    mount(notifications, model);
    const a = note();
    model.set("notifications", [a, note({ read: true })]);
    expect(toasts()).toHaveLength(1);
    model.set("notifications", [{ ...a, read: true }]);
    expect(toasts()).toHaveLength(0);
  });

  it("two views of one widget show a toast once", () => {
    const model = new FakeModel({ notifications: [], unread_count: 0 });
    mount(notifications, model);
    mount(notifications, model);
    model.set("notifications", [note()]);
    expect(toasts()).toHaveLength(1);
  });

  it("keeps titles, messages and senders as text (XSS)", () => {
    const model = new FakeModel({ notifications: [], unread_count: 0 });
    const { el } = mount(notifications, model);
    model.set("notifications", [note({ title: XSS, message: XSS, sender_name: XSS, kind: XSS })]);
    el.querySelector(".nbrt-bell").click();
    expect(injected()).toBe(0);
    expect(el.querySelector(".nbrt-notif-title").textContent).toBe(XSS);
    expect(toasts()[0].querySelector(".nbrt-toast-title").textContent).toBe(XSS);
    expect(toasts()[0].className).toBe("nbrt-toast nbrt-kind-info");
  });

  it("cleanup removes listeners, toasts and timers", () => {
    const model = new FakeModel({ notifications: [], unread_count: 0 });
    const { el, cleanup } = mount(notifications, model);
    model.set("notifications", [note()]);
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
    expect(document.querySelector(".nbrt-toasts")).toBeNull();
    expect(vi.getTimerCount()).toBe(0);
  });
});
