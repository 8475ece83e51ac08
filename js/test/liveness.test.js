import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { distinctInitials } from "../src/lib/color.js";
import { liveness, MISSED_BEATS, notice, readOnly } from "../src/lib/liveness.js";
import livetable from "../src/livetable.js";
import panel from "../src/panel.js";
import { FakeModel, mount } from "./fake-model.js";

const member = (over) => ({ id: "x", name: "x", color: "#123456", status: "online", last_seen: null, cell: null, activity: null, is_self: false, ...over });
const roomTraits = (over = {}) => ({
  state: "synced", pending: 0, room: "r", user: { name: "alice", color: "#f00" },
  members: [member({ id: "a", name: "alice", is_self: true }), member({ id: "b", name: "ada" })], idle_after: 60,
  notifications: [], unread_count: 0, toast_seconds: 6, room_status: "connected", heartbeat_seconds: 1, ...over,
});
const row = { key: "r1", values: { id: "r1", title: "draft", done: false }, status: "confirmed", error: null };
const tableTraits = (over = {}) => ({ columns: ["id", "title", "done"], key: "id", rows: [row], editable: true, conflicts: [],
  room_status: "connected", heartbeat_seconds: 1, ...over });
const statuses = (el) => [...el.querySelectorAll(".nbrt-status-dot")].map((d) => [...d.classList].find((c) => c.startsWith("nbrt-status--")));

describe("liveness", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("is stale once heartbeats stop, live again when they come back; closed wins", () => {
    const model = new FakeModel({ room_status: "connected", heartbeat_seconds: 1 });
    const seen = [];
    const stop = liveness(model).subscribe((s) => seen.push(s));
    vi.advanceTimersByTime(10_000); // no beat yet: a host that delivers none never raises a false alarm
    model.emitCustom({ type: "heartbeat" });
    vi.advanceTimersByTime(MISSED_BEATS * 1000 + 1500);
    model.emitCustom({ type: "heartbeat" });
    model.set("room_status", "reconnecting");
    model.set("room_status", "closed");
    expect(seen).toEqual(["live", "stale", "live", "offline", "closed"]);
    expect(seen.map(readOnly)).toEqual([false, true, false, false, true]);
    expect(notice("live")).toBe("");
    stop();
    expect(model.listenerCount()).toBe(0);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("one watcher per model, shared by every part of a view", () => {
    const model = new FakeModel({});
    expect(liveness(model)).toBe(liveness(model));
  });
});

describe("composite views", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("the room panel is one view rendering sync, presence and the bell from one model", () => {
    const model = new FakeModel(roomTraits());
    const { el, cleanup } = mount(panel, model);
    const root = el.querySelector(".nbrt-room-panel");
    expect(root.querySelector(".nbrt-sync")).not.toBeNull();
    expect(root.querySelector(".nbrt-presence")).not.toBeNull();
    expect(root.querySelector(".nbrt-notifications .nbrt-toasts")).not.toBeNull(); // toasts inside the widget
    cleanup();
    expect(el.children).toHaveLength(0);
    expect(model.listenerCount()).toBe(0);
  });

  it("a closed room: the panel says so and nobody is shown online", () => {
    const model = new FakeModel(roomTraits());
    const { el } = mount(panel, model);
    expect(statuses(el)).toEqual(["nbrt-status--online", "nbrt-status--online"]);
    model.set("state", "closed");
    model.set("room_status", "closed");
    expect(el.querySelector(".nbrt-sync-label").textContent).toBe("Room closed");
    expect(statuses(el)).toEqual(["nbrt-status--offline", "nbrt-status--offline"]);
    expect(el.querySelector(".nbrt-presence-summary").textContent).toBe("nobody online · room closed");
  });

  it("a silent kernel: the panel says the kernel is not answering", () => {
    const model = new FakeModel(roomTraits());
    const { el } = mount(panel, model);
    model.emitCustom({ type: "heartbeat" });
    vi.advanceTimersByTime(MISSED_BEATS * 1000 + 1500);
    expect(el.querySelector(".nbrt-sync-label").textContent).toBe("Kernel not answering");
    expect(statuses(el)).toEqual(["nbrt-status--offline", "nbrt-status--offline"]);
  });

  it("a lost connection: nobody is vouched for, and the table stays editable with its writes queued", () => {
    const room = new FakeModel(roomTraits({ room_status: "reconnecting", state: "offline" }));
    const { el } = mount(panel, room);
    expect(statuses(el)).toEqual(["nbrt-status--offline", "nbrt-status--offline"]);
    expect(el.querySelector(".nbrt-presence-summary").textContent).toBe("nobody online · connection lost");
    const table = new FakeModel(tableTraits({ room_status: "offline" }));
    const { el: tableEl } = mount(livetable, table);
    expect(tableEl.querySelector(".nbrt-notice").textContent).toContain("queued");
    expect(tableEl.querySelector(".nbrt-add")).not.toBeNull();
    tableEl.querySelector("input[type=checkbox]").click();
    expect(table.messages("edit")).toEqual([{ type: "edit", key: "r1", column: "done", value: true }]);
  });

  it("the table panel goes read-only with a notice, keeping a draft typed before", () => {
    const model = new FakeModel(tableTraits());
    const { el } = mount(livetable, model);
    expect(el.querySelector(".nbrt-conflicts").hidden).toBe(true);
    const title = el.querySelectorAll("tbody tr.nbrt-row td")[1];
    title.dispatchEvent(new MouseEvent("dblclick", { bubbles: true }));
    const input = el.querySelector("input.nbrt-cell-input");
    input.value = "typed before the room closed";
    model.set("room_status", "closed");
    expect(el.querySelector(".nbrt-notice").hidden).toBe(false);
    expect(el.querySelector(".nbrt-notice").textContent).toContain("closed");
    expect(el.querySelector(".nbrt-add")).toBeNull();
    expect(el.querySelector(".nbrt-row-delete")).toBeNull();
    expect(el.querySelector("input[type=checkbox]")).toBeNull();
    const kept = el.querySelector("input.nbrt-cell-input");
    expect(kept.value).toBe("typed before the room closed");
    expect(kept.readOnly).toBe(true);
    kept.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true }));
    expect(model.messages("edit")).toEqual([]); // nothing sent into the void, nothing thrown away
  });
});

describe("initials", () => {
  it("people whose initials collide get two letters", () => {
    expect(distinctInitials(["alice", "ada", "bob", "Ada Lovelace"])).toEqual(["Al", "Ad", "B", "AL"]);
    expect(distinctInitials(["ann", "ann"])).toEqual(["An", "An"]);
    expect(distinctInitials(["🙂", "!!"])).toEqual(["?", "?"]);
  });
});
