// A shared cell's direct path: this page's edits and caret go straight to the room's realtime channel and its update
// log, and the other people's edits come straight back, so typing never waits for the kernel (which may be busy
// running a cell). The kernel stays a full peer: it hears the same broadcasts on its own socket, and is told of each
// local edit as "relayed" (apply, but do not send again). Whenever the direct path is not up — no `link` trait, a
// backend the browser cannot reach, a send the server did not acknowledge, a log row it did not store — the data
// goes through the kernel as before: nothing typed is dropped.
import * as Y from "yjs";
import { fromBase64, toBase64 } from "../lib/binary.js";

export const CELL_EVENT = "nbrt:cell";
export const CURSOR_EVENT = "nbrt:cursor";
export const LOG_TABLE = "nbrt_cell_updates";
/** Local edits are batched into one log row this often (the kernel does the same). */
export const FLUSH_MS = 100;

/**
 * @typedef {import("../link/index.js").LinkInfo & { room: string, cell: string, name: string, color: string }} CellLinkInfo
 * @typedef {{ join: typeof import("../link/index.js").join }} Links
 */

export class CellLink {
  /**
   * @param {Links | undefined} links the link runtime (absent: kernel path only)
   * @param {import("../lib/model.js").Model} model
   * @param {(update: Uint8Array) => void} onRemote an update from someone else, to apply
   * @param {(ready: boolean) => void} onReady
   */
  constructor(links, model, onRemote, onReady) {
    this.links = links;
    this.model = model;
    this.onRemote = onRemote;
    this.onReady = onReady;
    /** @type {ReturnType<Links["join"]> | null} */
    this.handle = null;
    /** @type {string | null} */
    this.topic = null;
    /** @type {Uint8Array[]} */
    this.unsaved = [];
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.timer = null;
  }

  /** @returns {CellLinkInfo | null} */
  get info() {
    const info = this.model.get("link");
    return info && typeof info === "object" && typeof info.url === "string" ? info : null;
  }

  get ready() {
    return Boolean(this.handle?.ready);
  }

  /** Follow the `link` trait: join, refresh the token, or leave (the room closed). */
  follow() {
    const info = this.info;
    if (!this.links || !info) {
      this.leave();
      return;
    }
    if (this.handle && this.topic === info.topic) {
      this.handle.setToken(info.token);
      return;
    }
    this.leave();
    this.topic = info.topic;
    this.handle = this.links.join(info, (event, payload) => this.receive(event, payload), this.onReady);
  }

  /**
   * @param {string} event
   * @param {any} payload `{ sender, data: { cell, update } }`, as the kernels send it
   */
  receive(event, payload) {
    const data = payload && typeof payload === "object" ? payload.data : null;
    if (event !== CELL_EVENT || !data || data.cell !== this.info?.cell) return;
    const update = fromBase64(data.update);
    if (update) this.onRemote(update);
  }

  /**
   * A local edit: straight to the room when the path is up (the kernel is told it was relayed), else to the kernel.
   * @param {Uint8Array} update
   */
  sendUpdate(update) {
    const info = this.info;
    if (!this.handle?.ready || !info) {
      this.model.send({ type: "update" }, undefined, [update]);
      return;
    }
    this.model.send({ type: "update", relayed: true }, undefined, [update]);
    const envelope = { sender: info.user, data: { cell: info.cell, update: toBase64(update) } };
    this.handle.send(CELL_EVENT, envelope).then((ok) => {
      if (!ok) {
        this.model.send({ type: "update" }, undefined, [update]);
        return;
      }
      this.unsaved.push(update);
      this.timer ??= setTimeout(() => this.flush(), FLUSH_MS);
    });
  }

  /** Persist the batched edits as one log row; what the backend did not store goes to the kernel to keep. */
  flush() {
    this.timer = null;
    const info = this.info;
    if (!this.unsaved.length) return;
    const merged = Y.mergeUpdates(this.unsaved);
    this.unsaved = [];
    if (!this.handle || !info) {
      this.model.send({ type: "update" }, undefined, [merged]);
      return;
    }
    this.handle.insert(LOG_TABLE, { room: info.room, cell: info.cell, data: toBase64(merged) }).then((ok) => {
      this.model.send(ok ? { type: "persisted" } : { type: "update" }, undefined, ok ? [] : [merged]);
    });
  }

  /**
   * Share this user's caret; false when it has to go through the kernel.
   * @param {unknown} anchor @param {unknown} head
   */
  sendCursor(anchor, head) {
    const info = this.info;
    if (!this.handle?.ready || !info) return false;
    const data = { cell: info.cell, anchor, head, name: info.name, color: info.color };
    this.handle.send(CURSOR_EVENT, { sender: info.user, data });
    return true;
  }

  leave() {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.flush();
    }
    if (this.handle) {
      this.handle.leave();
      this.onReady(false);
    }
    this.handle = null;
    this.topic = null;
  }
}
