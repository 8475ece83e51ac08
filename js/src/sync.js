// Sync indicator: "● Synced", "Saving… (3 pending)", "Offline (3 queued)".
import { avatar } from "./lib/avatar.js";
import { h } from "./lib/dom.js";
import { liveness, notice } from "./lib/liveness.js";
import { Disposer, getNumber, str } from "./lib/model.js";

const STATES = new Set(["synced", "saving", "offline", "connecting", "closed", "stale"]);

/**
 * The label for a state and pending count.
 * @param {unknown} state
 * @param {number} pending
 */
export function syncLabel(state, pending) {
  switch (state) {
    case "synced":
      return pending > 0 ? `Saving… (${pending} pending)` : "Synced";
    case "saving":
      return pending > 0 ? `Saving… (${pending} pending)` : "Saving…";
    case "offline":
      return pending > 0 ? `Offline (${pending} queued)` : "Offline";
    case "connecting":
      return pending > 0 ? `Connecting… (${pending} queued)` : "Connecting…";
    case "closed":
      return pending > 0 ? `Room closed (${pending} unsent)` : "Room closed";
    case "stale":
      return "Kernel not answering";
    default:
      return str(state) || "Unknown";
  }
}

export default {
  /** @param {{ model: import("./lib/model.js").Model, el: HTMLElement }} ctx */
  render({ model, el }) {
    const d = new Disposer();
    const dot = h("span", { class: "nbrt-sync-dot", "aria-hidden": "true" });
    const label = h("span", { class: "nbrt-sync-label" });
    const room = h("span", { class: "nbrt-sync-room" });
    const who = h("span", { class: "nbrt-sync-user" });
    const status = h("span", { class: "nbrt-sync-status", role: "status", "aria-live": "polite" }, dot, label);
    const root = h("div", { class: "nbrt-root nbrt-sync" }, status, room, who);
    el.append(root);

    const draw = () => {
      const raw = live.state === "stale" ? "stale" : model.get("state");
      const state = STATES.has(raw) ? raw : "connecting";
      const pending = Math.max(0, Math.floor(getNumber(model, "pending", 0)));
      const effective = state === "synced" && pending > 0 ? "saving" : state;
      root.className = `nbrt-root nbrt-sync nbrt-sync--${effective}`;
      label.textContent = syncLabel(raw, pending);
      const roomName = str(model.get("room"));
      room.textContent = roomName;
      room.hidden = !roomName;
      room.title = roomName ? `Room: ${roomName}` : "";
      const user = model.get("user");
      who.replaceChildren();
      if (user && typeof user === "object" && user.name) {
        who.append(avatar(user, { size: "sm" }), h("span", { class: "nbrt-sync-username", text: str(user.name) }));
        who.title = `Signed in as ${str(user.name)}`;
      }
      root.title = [label.textContent, roomName && `room ${roomName}`, user?.name && `as ${str(user.name)}`, notice(live.state)]
        .filter(Boolean)
        .join(" · ");
    };

    const live = liveness(model);
    d.add(live.subscribe(draw));
    for (const t of ["state", "pending", "room", "user"]) d.model(model, `change:${t}`, draw);

    return () => {
      d.dispose();
      root.remove();
    };
  },
};
