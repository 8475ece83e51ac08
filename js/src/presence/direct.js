// Presence's direct path: when this tab goes idle or hidden (or comes back from it), the page tells the room itself
// on its own socket, so the others see it even while the kernel is busy running a cell. The kernel still gets the
// `activity` message (and adopts a status its own user's page broadcast: features/presence.py).

export const ACTIVITY_EVENT = "nbrt:presence";

export class PresenceLink {
  /**
   * @param {() => Promise<{ join: typeof import("../link/index.js").join }>} loadLinks
   * @param {import("../lib/model.js").Model} model
   */
  constructor(loadLinks, model) {
    this.loadLinks = loadLinks;
    this.model = model;
    /** @type {ReturnType<typeof import("../link/index.js").join> | null} */
    this.handle = null;
    this.closed = false;
  }

  /** @returns {import("../link/index.js").LinkInfo | null} */
  get info() {
    const info = this.model.get("link");
    return info && typeof info === "object" && typeof info.url === "string" ? info : null;
  }

  /** Follow the `link` trait: join (loading the runtime the first time), refresh the token, or leave. */
  async follow() {
    const info = this.info;
    if (!info) {
      this.handle?.leave();
      this.handle = null;
      return;
    }
    if (this.handle) {
      this.handle.setToken(info.token);
      return;
    }
    let links;
    try {
      links = await this.loadLinks();
    } catch {
      return; // no runtime: the kernel reports alone
    }
    if (this.closed || this.handle || !this.info) return;
    this.handle = links.join(this.info, () => {});
  }

  /**
   * Broadcast this user's status as the kernel would (its whole presence state, newer than the last).
   * @param {boolean} away
   */
  report(away) {
    const info = this.info;
    if (!this.handle?.ready || !info) return false;
    const me = (this.model.get("members") || []).find((/** @type {any} */ m) => m && m.is_self) || {};
    const data = {
      name: me.name,
      color: me.color,
      cell: me.cell ?? null,
      activity: me.activity ?? null,
      status: away ? "away" : "online",
      updated_at: new Date().toISOString(),
    };
    this.handle.send(ACTIVITY_EVENT, { sender: info.user, data });
    return true;
  }

  close() {
    this.closed = true;
    this.handle?.leave();
    this.handle = null;
  }
}
