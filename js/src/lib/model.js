// Helpers around the anywidget model: typed trait reads and listener bookkeeping for cleanup.

/**
 * The subset of anywidget's AnyModel the views use.
 * @typedef {{
 *   get(name: string): any,
 *   set?(name: string, value: any): void,
 *   save_changes?(): void,
 *   on(event: string, cb: (...args: any[]) => void): void,
 *   off(event?: string | null, cb?: ((...args: any[]) => void) | null): void,
 *   send(content: any, callbacks?: any, buffers?: Array<ArrayBuffer | ArrayBufferView>): void,
 * }} Model
 */

/**
 * Collects teardown functions; `dispose()` runs them once, newest first.
 */
export class Disposer {
  constructor() {
    /** @type {Array<() => void>} */
    this._fns = [];
  }

  /** @param {() => void} fn */
  add(fn) {
    this._fns.push(fn);
    return fn;
  }

  /**
   * Listen to a model event and unlisten on dispose.
   * @param {Model} model
   * @param {string} event
   * @param {(...args: any[]) => void} cb
   */
  model(model, event, cb) {
    model.on(event, cb);
    this.add(() => model.off(event, cb));
  }

  /**
   * addEventListener with removal on dispose.
   * @param {EventTarget} target
   * @param {string} type
   * @param {EventListenerOrEventListenerObject} cb
   * @param {AddEventListenerOptions | boolean} [options]
   */
  dom(target, type, cb, options) {
    target.addEventListener(type, cb, options);
    this.add(() => target.removeEventListener(type, cb, options));
  }

  /**
   * @param {() => void} fn
   * @param {number} ms
   */
  interval(fn, ms) {
    const id = setInterval(fn, ms);
    this.add(() => clearInterval(id));
  }

  dispose() {
    const fns = this._fns.splice(0).reverse();
    for (const fn of fns) {
      try {
        fn();
      } catch (err) {
        console.error("nbrealtime: cleanup failed", err);
      }
    }
  }
}

/**
 * A list trait, or [] when missing or not a list.
 * @param {Model} model
 * @param {string} name
 * @returns {any[]}
 */
export function getList(model, name) {
  const v = model.get(name);
  return Array.isArray(v) ? v : [];
}

/**
 * A finite number trait, or `fallback`.
 * @param {Model} model
 * @param {string} name
 * @param {number} fallback
 */
export function getNumber(model, name, fallback) {
  const v = model.get(name);
  return typeof v === "number" && Number.isFinite(v) ? v : fallback;
}

/**
 * @param {unknown} v
 * @returns {string}
 */
export function str(v) {
  return v === null || v === undefined ? "" : String(v);
}
