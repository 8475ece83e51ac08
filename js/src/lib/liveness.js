// Whether a view can still act: the room's connection (trait `room_status`) and the kernel's heartbeat (custom
// message `{type: "heartbeat"}`, sent every `heartbeat_seconds` by a background thread of the kernel, so it keeps
// coming while a cell runs). A dead kernel or a lost comm can tell the browser nothing: the silence is the signal.
//
// API (one watcher per model, shared by every part of a view and every view of the model):
//   const live = liveness(model);        // the model's watcher
//   const stop = live.subscribe(fn);     // fn(state) now and on every change; call stop() on cleanup
//   live.state                           // "live" | "offline" | "closed" | "stale"
//   readOnly(state)                      // true when nothing done here can reach the backend
//   notice(state)                        // one sentence for the user, or "" when live
import { getNumber, str } from "./model.js";

/** Heartbeats missed before the view calls the kernel unresponsive. */
export const MISSED_BEATS = 3;
/** Room statuses (Python's ConnectionState) in which writes are queued, not lost. */
const OFFLINE = new Set(["reconnecting", "offline", "token-expired"]);

/**
 * @typedef {"live" | "offline" | "closed" | "stale"} LiveState
 * @typedef {{ readonly state: LiveState, subscribe(fn: (state: LiveState) => void): () => void }} Watcher
 */

/** @type {WeakMap<object, Watcher>} */
const watchers = new WeakMap();

/**
 * The state from the room status and whether heartbeats still arrive.
 * @param {unknown} roomStatus
 * @param {boolean} stale
 * @returns {LiveState}
 */
export function liveState(roomStatus, stale) {
  if (roomStatus === "closed") return "closed";
  if (stale) return "stale";
  return OFFLINE.has(str(roomStatus)) ? "offline" : "live";
}

/** @param {LiveState} state */
export function readOnly(state) {
  return state === "closed" || state === "stale";
}

/** @param {LiveState} state */
export function notice(state) {
  switch (state) {
    case "closed":
      return "This room is closed: the view is read-only and shows the last state it had.";
    case "stale":
      return "The kernel is not answering (stopped, restarted or disconnected): the view is read-only; run its cell again once the kernel is back.";
    case "offline":
      return "Offline: changes made here are queued and sent when the connection is back.";
    default:
      return "";
  }
}

/**
 * The liveness watcher of `model` (created on first use; it lives as long as the model has subscribers).
 * Staleness is only judged once a first heartbeat has arrived, so a host that cannot deliver kernel messages at all
 * never shows a false alarm.
 * @param {import("./model.js").Model} model
 * @returns {Watcher}
 */
export function liveness(model) {
  const existing = watchers.get(model);
  if (existing) return existing;

  /** @type {Set<(state: LiveState) => void>} */
  const listeners = new Set();
  let lastBeat = 0;
  /** @type {ReturnType<typeof setInterval> | null} */
  let timer = null;
  /** @type {LiveState} */
  let state = liveState(model.get("room_status"), false);

  const periodMs = () => Math.max(0.05, getNumber(model, "heartbeat_seconds", 3)) * 1000;
  const update = () => {
    const stale = lastBeat > 0 && Date.now() - lastBeat > MISSED_BEATS * periodMs();
    const next = liveState(model.get("room_status"), stale);
    if (next === state) return;
    state = next;
    for (const fn of [...listeners]) fn(state);
  };
  const onMessage = (/** @type {any} */ content) => {
    if (content?.type !== "heartbeat") return;
    lastBeat = Date.now();
    update();
  };
  const start = () => {
    model.on("msg:custom", onMessage);
    model.on("change:room_status", update);
    timer = setInterval(update, Math.min(1000, periodMs()));
  };
  const stop = () => {
    model.off("msg:custom", onMessage);
    model.off("change:room_status", update);
    if (timer !== null) clearInterval(timer);
    timer = null;
    watchers.delete(model);
  };

  /** @type {Watcher} */
  const watcher = {
    get state() {
      return state;
    },
    subscribe(fn) {
      if (!listeners.size) start();
      listeners.add(fn);
      fn(state);
      return () => {
        listeners.delete(fn);
        if (!listeners.size) stop();
      };
    },
  };
  watchers.set(model, watcher);
  return watcher;
}
