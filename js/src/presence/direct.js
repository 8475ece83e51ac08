// Presence's direct path: when this tab goes idle or hidden (or comes back from it), the page tells the room itself
// on its own socket, so the others see it even while the kernel is busy running a cell. The kernel still gets the
// `activity` message (and adopts a status its own user's page broadcast: features/presence.py).

import { TraitLink } from "../lib/trait-link.js";

export const ACTIVITY_EVENT = "nbrt:presence";

export class PresenceLink extends TraitLink {
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
}
