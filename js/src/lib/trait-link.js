// A view's path to the backend that follows its model's `link` trait (Room.browser_link): join when there is one,
// hand on each refreshed token, leave when it goes (the room closed). The link runtime is loaded on first need; where
// it cannot load, the view keeps to the kernel path.

export class TraitLink {
  /**
   * @param {() => Promise<{ join: typeof import("../link/index.js").join }>} loadLinks the link runtime, on demand
   * @param {import("./model.js").Model} model
   */
  constructor(loadLinks, model) {
    this.loadLinks = loadLinks;
    this.model = model;
    /** @type {ReturnType<typeof import("../link/index.js").join> | null} */
    this.handle = null;
    this.closed = false;
  }

  /** @returns {any} the `link` trait, or null when there is none */
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
      return; // no runtime here: the kernel path it is
    }
    if (this.closed || this.handle || !this.info) return;
    this.handle = links.join(this.info, () => {});
  }

  close() {
    this.closed = true;
    this.handle?.leave();
    this.handle = null;
  }
}
