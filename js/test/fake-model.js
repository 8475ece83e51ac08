// A stand-in for anywidget's model: traits, change events, custom messages, and a log of what the view sent.

export class FakeModel {
  /** @param {Record<string, unknown>} [traits] */
  constructor(traits = {}) {
    /** @type {Map<string, unknown>} */
    this.traits = new Map(Object.entries(traits));
    /** @type {Map<string, Set<Function>>} */
    this.listeners = new Map();
    /** @type {Array<{ content: any, buffers: any[] | undefined }>} */
    this.sent = [];
  }

  /** @param {string} name */
  get(name) {
    return this.traits.get(name);
  }

  /** Set a trait and emit `change:<name>` like a kernel-side update would. */
  set(name, value) {
    this.traits.set(name, value);
    this.emit(`change:${name}`, value);
  }

  save_changes() {}

  on(event, cb) {
    if (!this.listeners.has(event)) this.listeners.set(event, new Set());
    this.listeners.get(event).add(cb);
  }

  off(event, cb) {
    if (event == null) this.listeners.clear();
    else if (cb == null) this.listeners.delete(event);
    else this.listeners.get(event)?.delete(cb);
  }

  emit(event, ...args) {
    for (const cb of [...(this.listeners.get(event) ?? [])]) cb(...args);
  }

  /** A custom message from the kernel (`buffers` delivered as DataViews, as ipywidgets does). */
  emitCustom(content, buffers = []) {
    const views = buffers.map((b) => (b instanceof DataView ? b : new DataView(b.buffer, b.byteOffset, b.byteLength)));
    this.emit("msg:custom", content, views);
  }

  send(content, callbacks, buffers) {
    this.sent.push({ content, buffers });
  }

  /** Sent messages of one type. */
  messages(type) {
    return this.sent.filter((m) => m.content?.type === type).map((m) => m.content);
  }

  /** Number of listeners still registered (cleanup must bring this to 0). */
  listenerCount() {
    let n = 0;
    for (const set of this.listeners.values()) n += set.size;
    return n;
  }
}

/**
 * Render a view into a fresh element attached to the document.
 * @param {{ render: Function }} widget
 * @param {FakeModel} model
 */
export function mount(widget, model) {
  const el = document.createElement("div");
  document.body.append(el);
  const cleanup = widget.render({ model, el });
  return { el, cleanup };
}

export const XSS = `<img src=x onerror=alert(1)>`;

/**
 * Elements created from the payload anywhere in the document (CodeMirror's own `img.cm-widgetBuffer` spacers
 * around inline widgets do not count).
 */
export function injected() {
  return document.querySelectorAll("script, [onerror], img:not(.cm-widgetBuffer), img[src]").length;
}
