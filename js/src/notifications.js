// Notifications: a bell with an unread badge, a drop-down list, and toasts for new arrivals.
import { h, icon, replace } from "./lib/dom.js";
import { follow } from "./lib/float.js";
import { liveness, readOnly } from "./lib/liveness.js";
import { Disposer, getList, getNumber, str } from "./lib/model.js";
import { absoluteTime, relativeTime } from "./lib/time.js";
import { acquireRegion, dismissToast, showToast } from "./lib/toasts.js";

/**
 * @typedef {{ id: string, title: string, message: string, kind: string, sender_name: string | null,
 *   created_at: string, read: boolean, pending: boolean }} Notification
 */

const KINDS = new Set(["info", "success", "warning", "error"]);

/** @param {unknown} kind */
export function normKind(kind) {
  return typeof kind === "string" && KINDS.has(kind) ? kind : "info";
}

/**
 * @param {Notification} n
 * @param {number} now
 */
function meta(n, now) {
  return [n.sender_name ? `from ${str(n.sender_name)}` : "", relativeTime(n.created_at, now)].filter(Boolean).join(" · ");
}

export default {
  /** @param {{ model: import("./lib/model.js").Model, el: HTMLElement }} ctx */
  render({ model, el }) {
    const d = new Disposer();

    const badge = h("span", { class: "nbrt-badge", "aria-hidden": "true" });
    const bell = h("button", {
      class: "nbrt-bell nbrt-icon-button",
      type: "button",
      "aria-haspopup": "true",
      "aria-expanded": "false",
    });
    bell.append(icon("bell"), badge);
    const markAll = h("button", { class: "nbrt-button nbrt-button--link nbrt-mark-all", type: "button", text: "Mark all read" });
    const list = h("ul", { class: "nbrt-notif-list", role: "list" });
    const panel = h(
      "div",
      { class: "nbrt-panel", role: "dialog", "aria-label": "Notifications", hidden: true, tabindex: "-1" },
      h("div", { class: "nbrt-panel-header" }, h("span", { class: "nbrt-panel-title", text: "Notifications" }), markAll),
      list,
    );
    const root = h("div", { class: "nbrt-root nbrt-notifications" }, bell, panel);
    el.append(root);
    const toastRegion = acquireRegion(root);
    d.add(() => toastRegion.release());
    const live = liveness(model);
    /** Marking read needs the kernel and the room: not offered while either is gone. */
    const canMark = () => !readOnly(live.state);

    /** @returns {Notification[]} */
    const items = () => getList(model, "notifications").filter((n) => n && typeof n === "object" && n.id != null);
    /** @param {string} id */
    const markRead = (id) => model.send({ type: "mark_read", id });

    /** @param {Notification} n @param {number} now */
    const row = (n, now) => {
      const kind = normKind(n.kind);
      const li = h(
        "li",
        {
          class: ["nbrt-notif", `nbrt-kind-${kind}`, !n.read && "nbrt-notif--unread", n.pending && "nbrt-pending"],
          "aria-busy": n.pending ? "true" : undefined,
        },
        h("span", { class: "nbrt-kind-dot", "aria-hidden": "true" }),
        h(
          "div",
          { class: "nbrt-notif-main" },
          h("div", { class: "nbrt-notif-title", text: str(n.title) || "(untitled)" }),
          n.message ? h("div", { class: "nbrt-notif-message", text: str(n.message) }) : null,
          h("div", { class: "nbrt-notif-meta", title: absoluteTime(n.created_at), text: meta(n, now) }),
        ),
      );
      if (!n.read) {
        const btn = h("button", {
          class: "nbrt-icon-button nbrt-mark-read",
          type: "button",
          title: "Mark as read",
          "aria-label": `Mark “${str(n.title)}” as read`,
          disabled: n.pending || !canMark() ? true : undefined,
        });
        btn.append(icon("check"));
        btn.addEventListener("click", () => markRead(str(n.id)));
        li.append(btn);
      }
      return li;
    };

    const drawBadge = () => {
      const unread = getNumber(model, "unread_count", items().filter((n) => !n.read).length);
      badge.textContent = unread > 99 ? "99+" : String(unread);
      badge.hidden = unread <= 0;
      bell.setAttribute("aria-label", unread > 0 ? `Notifications, ${unread} unread` : "Notifications");
      markAll.disabled = unread <= 0 || !canMark();
    };

    const drawList = () => {
      const now = Date.now();
      const all = items();
      // Redrawing removes the focused button (e.g. the mark-read just clicked): keep the focus in the drop-down, so
      // Tab and Escape still work from there instead of from <body>.
      const hadFocus = list.contains(document.activeElement);
      replace(list, all.length ? all.map((n) => row(n, now)) : h("li", { class: "nbrt-empty", text: "No notifications" }));
      if (hadFocus && !root.contains(document.activeElement)) panel.focus({ preventScroll: true });
    };

    /** @type {Set<string>} */
    const seen = new Set(items().map((n) => str(n.id)));
    const toastNew = () => {
      const seconds = getNumber(model, "toast_seconds", 6);
      // The list is newest first; toast oldest first so the newest ends up nearest the corner.
      for (const n of items().reverse()) {
        const id = str(n.id);
        if (n.read) dismissToast(id);
        if (seen.has(id)) continue;
        seen.add(id);
        if (n.read) continue;
        showToast({
          id,
          kind: normKind(n.kind),
          title: str(n.title) || "(untitled)",
          message: str(n.message),
          meta: n.sender_name ? `from ${str(n.sender_name)}` : "",
          seconds,
          onActivate: () => canMark() && markRead(id),
        });
      }
    };

    /** @type {(() => void) | null} */
    let unfollow = null;
    const setOpen = (/** @type {boolean} */ open) => {
      panel.hidden = !open;
      bell.setAttribute("aria-expanded", String(open));
      root.classList.toggle("nbrt-notifications--open", open);
      unfollow?.();
      unfollow = null;
      if (open) {
        drawList();
        unfollow = follow(bell, panel); // floats over the notebook instead of pushing the cells below down
      }
    };
    d.add(() => unfollow?.());

    bell.addEventListener("click", () => setOpen(panel.hidden));
    markAll.addEventListener("click", () => model.send({ type: "mark_all_read" }));
    d.dom(document, "pointerdown", (e) => {
      if (!panel.hidden && e.target instanceof Node && !root.contains(e.target)) setOpen(false);
    });
    const closeOnEscape = (/** @type {KeyboardEvent} */ e) => {
      if (e.key !== "Escape" || panel.hidden) return;
      setOpen(false);
      bell.focus();
    };
    root.addEventListener("keydown", closeOnEscape);
    // Focus that fell to <body> (a clicked button was redrawn away, or a click on blank space) still closes an open
    // drop-down with Escape; focus elsewhere (a notebook cell) keeps Escape for its owner.
    d.dom(document, "keydown", (e) => {
      const target = /** @type {KeyboardEvent} */ (e).target;
      if (target === document.body || target === document.documentElement || target === document) {
        closeOnEscape(/** @type {KeyboardEvent} */ (e));
      }
    });

    const onChange = () => {
      drawBadge();
      if (!panel.hidden) drawList();
      toastNew();
    };
    d.model(model, "change:notifications", onChange);
    d.model(model, "change:unread_count", drawBadge);
    d.interval(() => !panel.hidden && drawList(), 30_000);
    d.add(
      live.subscribe(() => {
        drawBadge();
        drawList();
      }),
    );

    return () => {
      d.dispose();
      root.remove();
    };
  },
};
