// One toast region per document, shared by every notifications view (two views of one widget must not show a
// toast twice). Toasts are keyed by notification id. The region lives inside a view's own DOM (a host such as
// marimo styles widgets inside their shadow root only) and floats at the window's corner; when the view that holds
// it goes, it moves to another view still shown.
import { h, icon } from "./dom.js";

/**
 * @typedef {{ el: HTMLElement, timer: ReturnType<typeof setTimeout> | null, remaining: number, startedAt: number,
 *   hovered: boolean, dismiss: () => void }} Toast
 */

/** @type {{ region: HTMLElement, hosts: HTMLElement[], toasts: Map<string, Toast> } | null} */
let shared = null;

/** At most this many toasts at once (older ones go first): a stack never covers much of the notebook. */
export const MAX_TOASTS = 3;

/**
 * Acquire the shared region for a view whose root is `host`; call `release()` when the view goes.
 * @param {HTMLElement} host
 */
export function acquireRegion(host) {
  if (shared && !shared.region.isConnected) {
    // Every view that held the region is gone: what it showed went with it.
    for (const t of shared.toasts.values()) t.timer !== null && clearTimeout(t.timer);
    shared.toasts.clear();
    shared.region.replaceChildren();
  }
  if (!shared) {
    const region = h("div", {
      class: "nbrt-toasts",
      role: "region",
      "aria-live": "polite",
      "aria-label": "Notifications",
    });
    shared = { region, hosts: [], toasts: new Map() };
  }
  const s = shared;
  if (!s.region.isConnected || !s.hosts.includes(/** @type {HTMLElement} */ (s.region.parentElement))) host.append(s.region);
  s.hosts.push(host);
  let released = false;
  return {
    region: s.region,
    release() {
      if (released) return;
      released = true;
      s.hosts = s.hosts.filter((h) => h !== host);
      const next = s.hosts.find((h) => h.isConnected);
      if (next) {
        if (host.contains(s.region)) next.append(s.region);
        return;
      }
      for (const t of s.toasts.values()) t.timer !== null && clearTimeout(t.timer);
      s.toasts.clear();
      s.region.remove();
      if (shared === s) shared = null;
    },
  };
}

/** @param {string} id */
export function hasToast(id) {
  return Boolean(shared?.toasts.has(id));
}

/** @param {string} id */
export function dismissToast(id) {
  shared?.toasts.get(id)?.dismiss();
}

/**
 * Show a toast.
 * @param {{ id: string, kind: string, title: string, message: string, meta: string, seconds: number,
 *   onActivate: () => void }} opts
 */
export function showToast(opts) {
  if (!shared || shared.toasts.has(opts.id)) return;
  const s = shared;
  const close = h("button", { class: "nbrt-toast-close nbrt-icon-button", type: "button", "aria-label": "Dismiss" });
  close.append(icon("close"));
  const body = h(
    "button",
    { class: "nbrt-toast-body", type: "button", title: "Mark as read" },
    h("span", { class: "nbrt-toast-title", text: opts.title }),
    opts.message ? h("span", { class: "nbrt-toast-message", text: opts.message }) : null,
    opts.meta ? h("span", { class: "nbrt-toast-meta", text: opts.meta }) : null,
  );
  const el = h("div", { class: ["nbrt-toast", `nbrt-kind-${opts.kind}`] }, body, close);

  /** @type {Toast} */
  const toast = {
    el,
    timer: null,
    remaining: opts.seconds * 1000,
    startedAt: 0,
    hovered: false,
    dismiss() {
      if (toast.timer !== null) clearTimeout(toast.timer);
      toast.timer = null;
      if (s.toasts.get(opts.id) === toast) s.toasts.delete(opts.id);
      el.classList.add("nbrt-toast--leaving");
      el.remove();
    },
  };
  const start = () => {
    if (opts.seconds <= 0 || toast.timer !== null) return;
    toast.startedAt = Date.now();
    toast.timer = setTimeout(toast.dismiss, toast.remaining);
  };
  const pause = () => {
    if (toast.timer === null) return;
    clearTimeout(toast.timer);
    toast.timer = null;
    toast.remaining = Math.max(500, toast.remaining - (Date.now() - toast.startedAt));
  };
  el.addEventListener("mouseenter", pause);
  el.addEventListener("mouseleave", start);
  el.addEventListener("focusin", pause);
  el.addEventListener("focusout", start);
  close.addEventListener("click", (e) => {
    e.stopPropagation();
    toast.dismiss();
  });
  body.addEventListener("click", () => {
    opts.onActivate();
    toast.dismiss();
  });

  s.toasts.set(opts.id, toast);
  s.region.append(el);
  while (s.toasts.size > MAX_TOASTS) s.toasts.values().next().value?.dismiss();
  start();
}
