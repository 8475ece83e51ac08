// Presence: who is here, where, and since when. Also reports this browser's idle/visibility state.
import link from "runtime:link";
import { avatar } from "./lib/avatar.js";
import { distinctInitials } from "./lib/color.js";
import { h, replace } from "./lib/dom.js";
import { follow } from "./lib/float.js";
import { liveness } from "./lib/liveness.js";
import { Disposer, getList, getNumber, str } from "./lib/model.js";
import { relativeTime } from "./lib/time.js";
import { loadRuntime } from "./lib/runtime.js";
import { debounce } from "./lib/timing.js";
import { PresenceLink } from "./presence/direct.js";

/**
 * @typedef {{ id: string, name: string, color: string, status: "online" | "away" | "offline",
 *   last_seen: string | null, cell: string | null, activity: string | null, is_self: boolean,
 *   role?: "owner" | "editor" | "viewer" | null }} Member
 */

const STATUS_ORDER = { online: 0, away: 1, offline: 2 };
const STATUS_LABEL = { online: "Online", away: "Away", offline: "Offline" };
export const MAX_VISIBLE = 8;
export const REFRESH_MS = 30_000;
/** Debounce of activity reports, so quick tab flips or jitter send one message. */
export const REPORT_DEBOUNCE_MS = 400;

const ROLES = new Set(["owner", "editor", "viewer"]);

/**
 * A member's role in the room, or "" when unknown (a view of a room without roles, or an old kernel).
 * @param {Member} m
 */
export function roleOf(m) {
  const role = str(m?.role);
  return ROLES.has(role) ? role : "";
}

/** @param {unknown} s @returns {"online" | "away" | "offline"} */
function normStatus(s) {
  return s === "online" || s === "away" ? s : "offline";
}

/**
 * Online first, then away, then offline; yourself first within a group; then by name.
 * @param {Member[]} members
 */
export function sortMembers(members) {
  return [...members].sort(
    (a, b) =>
      STATUS_ORDER[normStatus(a.status)] - STATUS_ORDER[normStatus(b.status)] ||
      Number(Boolean(b.is_self)) - Number(Boolean(a.is_self)) ||
      str(a.name).localeCompare(str(b.name)),
  );
}

/**
 * The tooltip text of a member.
 * @param {Member} m
 * @param {number} now
 */
export function describe(m, now) {
  const status = normStatus(m.status);
  const lines = [`${str(m.name) || "Anonymous"}${m.is_self ? " (you)" : ""}`];
  lines.push(STATUS_LABEL[status]);
  const role = roleOf(m);
  if (role) lines.push(`Role: ${role}`);
  if (m.cell && status !== "offline") lines.push(`In cell ${str(m.cell)}`);
  if (m.activity && status !== "offline") lines.push(str(m.activity));
  if (status !== "online" && m.last_seen) {
    const rel = relativeTime(m.last_seen, now);
    if (rel) lines.push(`Last seen ${rel}`);
  }
  return lines.join("\n");
}

/**
 * A badge: the details are in its accessible name and, on hover or focus, in the view's hover card.
 * @param {Member} m
 * @param {string} text its initials
 * @param {number} now
 */
function memberItem(m, text, now) {
  const status = normStatus(m.status);
  return h(
    "li",
    {
      class: ["nbrt-member", `nbrt-member--${status}`, m.is_self && "nbrt-member--self"],
      "aria-label": describe(m, now).replaceAll("\n", ", "),
      dataset: roleOf(m) ? { name: str(m.name), role: roleOf(m) } : { name: str(m.name) },
      tabindex: "0",
    },
    avatar(m, { text }),
    h("span", { class: ["nbrt-status-dot", `nbrt-status--${status}`], "aria-hidden": "true" }),
  );
}

/** Why nobody is shown as here, when the view cannot know. */
const UNKNOWN = { closed: "room closed", stale: "kernel not answering", offline: "connection lost" };

/**
 * "2 online · 1 away · you: owner" (`withRole` false: without your role).
 * @param {Member[]} members
 */
export function summary(members, withRole = true) {
  if (!withRole) return counts(members);
  const me = members.find((m) => m.is_self);
  const mine = me ? roleOf(me) : "";
  const you = mine ? ` · you: ${mine}` : "";
  return counts(members) + you;
}

/** @param {Member[]} members */
function counts(members) {
  if (!members.length) return "nobody here yet";
  const counts = { online: 0, away: 0, offline: 0 };
  for (const m of members) counts[normStatus(m.status)] += 1;
  const parts = [];
  if (counts.online) parts.push(`${counts.online} online`);
  if (counts.away) parts.push(`${counts.away} away`);
  if (!parts.length) parts.push("nobody online");
  return parts.join(" · ");
}

/**
 * Reports `{type: "activity", idle, visible}` when the tab's visibility changes or the user goes idle/returns.
 * @param {import("./lib/model.js").Model} model
 * @param {Disposer} d
 */
export function trackActivity(model, d) {
  const doc = document;
  let idle = false;
  let lastActivity = Date.now();
  /** @type {{ idle: boolean, visible: boolean } | null} */
  let lastSent = null;
  /** @type {ReturnType<typeof setTimeout> | null} */
  let idleTimer = null;

  const visible = () => doc.visibilityState !== "hidden";
  const idleMs = () => Math.max(1, getNumber(model, "idle_after", 60)) * 1000;

  // Going away and coming back also go straight to the room (presence/direct.js): a busy kernel reads the
  // `activity` message only after its cell.
  const direct = new PresenceLink(() => loadRuntime("link", link.source, link.hash), model);
  d.add(() => direct.close());
  d.model(model, "change:link", () => direct.follow());
  direct.follow();
  const isAway = (/** @type {{ idle: boolean, visible: boolean }} */ state) => state.idle || !state.visible;

  const report = debounce(() => {
    const state = { idle, visible: visible() };
    if (lastSent && lastSent.idle === state.idle && lastSent.visible === state.visible) return;
    const wasAway = lastSent !== null && isAway(lastSent);
    lastSent = state;
    model.send({ type: "activity", ...state });
    if (isAway(state) || wasAway) direct.report(isAway(state));
  }, REPORT_DEBOUNCE_MS);
  d.add(() => report.cancel());

  const schedule = (/** @type {number} */ ms) => {
    if (idleTimer !== null) clearTimeout(idleTimer);
    idleTimer = setTimeout(checkIdle, ms);
  };
  const checkIdle = () => {
    idleTimer = null;
    const quiet = Date.now() - lastActivity;
    if (quiet >= idleMs()) {
      if (!idle) {
        idle = true;
        report();
      }
    } else {
      schedule(idleMs() - quiet);
    }
  };
  d.add(() => idleTimer !== null && clearTimeout(idleTimer));

  const onActivity = () => {
    lastActivity = Date.now();
    if (idle) {
      idle = false;
      report();
      schedule(idleMs());
    } else if (idleTimer === null) {
      schedule(idleMs());
    }
  };
  for (const type of ["keydown", "mousemove", "pointerdown"]) {
    d.dom(doc, type, onActivity, { passive: true, capture: true });
  }
  d.dom(doc, "visibilitychange", () => {
    if (visible()) lastActivity = Date.now();
    report();
  });
  d.model(model, "change:idle_after", () => schedule(Math.max(0, idleMs() - (Date.now() - lastActivity))));

  schedule(idleMs());
  report(); // initial state, so the kernel knows about a tab that renders hidden
}

export default {
  /** @param {{ model: import("./lib/model.js").Model, el: HTMLElement }} ctx */
  render({ model, el }) {
    const d = new Disposer();
    const list = h("ul", { class: "nbrt-members", role: "list", "aria-label": "People in this room" });
    const label = h("span", { class: "nbrt-presence-summary" });
    const card = h("div", { class: "nbrt-member-card", role: "tooltip", hidden: true });
    const root = h("div", { class: "nbrt-root nbrt-presence", role: "group", "aria-label": "Presence" }, list, label, card);
    el.append(root);
    const live = liveness(model);

    /** @type {{ li: HTMLElement, text: string, unfollow: () => void } | null} */
    let shown = null;
    const hideCard = () => {
      shown?.unfollow();
      shown = null;
      card.hidden = true;
    };
    const showCard = (/** @type {HTMLElement} */ li, /** @type {string} */ text) => {
      hideCard();
      replace(card, text.split("\n").map((line, i) => h("div", { class: i ? "nbrt-member-card-line" : "nbrt-member-card-name", text: line })));
      card.hidden = false;
      shown = { li, text, unfollow: follow(li, card) };
    };
    d.add(hideCard);

    const draw = () => {
      const now = Date.now();
      const known = live.state === "live";
      // A closed room, a silent kernel or a lost connection cannot vouch for anyone: nobody is shown as here.
      const members = sortMembers(
        getList(model, "members")
          .filter((m) => m && typeof m === "object")
          .map((m) => (known ? m : { ...m, status: "offline" })),
      );
      const visible = members.slice(0, MAX_VISIBLE);
      const hidden = members.slice(MAX_VISIBLE);
      const texts = distinctInitials(visible.map((m) => m.name));
      /** @type {Map<HTMLElement, string>} */
      const details = new Map();
      const items = visible.map((m, i) => {
        const li = memberItem(m, texts[i], now);
        details.set(li, describe(m, now));
        return li;
      });
      if (hidden.length) {
        const names = hidden.map((m) => describe(m, now).split("\n")[0]).join("\n");
        const more = h("li", { class: "nbrt-member nbrt-member--more", "aria-label": names.replaceAll("\n", ", "), tabindex: "0" },
          h("span", { class: "nbrt-avatar nbrt-avatar--more", text: `+${hidden.length}` }));
        details.set(more, names);
        items.push(more);
      }
      // A redraw replaces the badges: the card that was open stays open on the same person's new badge.
      const openName = shown?.li.dataset.name;
      const open = openName ? [...details.keys()].find((li) => li.dataset.name === openName) : undefined;
      for (const [li, text] of details) {
        li.addEventListener("mouseenter", () => showCard(li, text));
        li.addEventListener("focus", () => showCard(li, text));
        li.addEventListener("mouseleave", hideCard);
        li.addEventListener("blur", hideCard);
      }
      replace(list, items);
      if (open) showCard(open, /** @type {string} */ (details.get(open)));
      else if (shown) hideCard();
      const why = known ? "" : UNKNOWN[/** @type {"closed" | "stale" | "offline"} */ (live.state)];
      // Your role is the room's word too: while the room cannot vouch for anyone, it is not claimed either.
      label.textContent = why ? `${summary(members, false)} · ${why}` : summary(members);
      root.classList.toggle("nbrt-presence--unknown", !known);
    };

    d.add(live.subscribe(draw));
    d.model(model, "change:members", draw);
    d.interval(draw, REFRESH_MS);
    trackActivity(model, d);

    return () => {
      d.dispose();
      root.remove();
    };
  },
};
