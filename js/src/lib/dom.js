// Escaping-free DOM builders. User text only ever reaches the DOM through
// `textContent` (text nodes) or `setAttribute`; nothing here parses HTML.

/**
 * @typedef {string | number | boolean | null | undefined | Node} Child
 * @typedef {{
 *   class?: string | Array<string | false | null | undefined>,
 *   text?: string | number,
 *   style?: Record<string, string>,
 *   dataset?: Record<string, string>,
 *   on?: Record<string, EventListener>,
 *   [attr: string]: unknown,
 * }} Props
 */

/**
 * Create an element. `props.class` may be a list (falsy entries dropped), `props.text` sets `textContent`,
 * `props.style` sets CSS properties (custom properties allowed), `props.on` adds event listeners; any other key
 * is set with `setAttribute` (boolean `true` → empty attribute, `false`/`null`/`undefined` → omitted).
 * Children that are strings/numbers become text nodes.
 *
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Props} [props]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(props)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") {
      const list = Array.isArray(value) ? value.filter(Boolean) : [value];
      if (list.length) el.className = list.join(" ");
    } else if (name === "text") {
      el.textContent = String(value);
    } else if (name === "style") {
      for (const [prop, v] of Object.entries(/** @type {Record<string, string>} */ (value))) {
        if (v !== undefined && v !== null) el.style.setProperty(prop, String(v));
      }
    } else if (name === "dataset") {
      for (const [k, v] of Object.entries(/** @type {Record<string, string>} */ (value))) el.dataset[k] = String(v);
    } else if (name === "on") {
      for (const [type, fn] of Object.entries(/** @type {Record<string, EventListener>} */ (value))) {
        el.addEventListener(type, fn);
      }
    } else {
      el.setAttribute(name, value === true ? "" : String(value));
    }
  }
  append(el, children);
  return el;
}

/**
 * Append children (text for primitives, nodes as they are; nested arrays flattened; null/false skipped).
 * @param {Element} parent
 * @param {Array<Child | Child[]>} children
 */
export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false || child === true) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replace all children of `el`.
 * @param {Element} el
 * @param {...(Child | Child[])} children
 */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * Small inline icons from fixed path data (never user data).
 * @param {keyof typeof ICONS} name
 * @param {string} [cls]
 */
export function icon(name, cls = "nbrt-icon") {
  const svg = document.createElementNS(SVG_NS, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "16");
  svg.setAttribute("height", "16");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  svg.setAttribute("class", cls);
  const path = document.createElementNS(SVG_NS, "path");
  path.setAttribute("d", ICONS[name]);
  path.setAttribute("fill", "currentColor");
  svg.append(path);
  return svg;
}

export const ICONS = {
  bell: "M12 22a2.5 2.5 0 0 0 2.45-2h-4.9A2.5 2.5 0 0 0 12 22Zm7-6V11a7 7 0 0 0-5.5-6.84V3.5a1.5 1.5 0 0 0-3 0v.66A7 7 0 0 0 5 11v5l-2 2v1h18v-1l-2-2Z",
  close: "M18.3 5.71 12 12l6.3 6.29-1.42 1.42L10.59 13.4 4.3 19.7 2.88 18.3 9.17 12 2.88 5.71 4.3 4.29l6.29 6.3 6.3-6.3 1.41 1.42Z",
  check: "M9 16.17 4.83 12l-1.42 1.41L9 19 21 7l-1.41-1.41L9 16.17Z",
  trash: "M6 19a2 2 0 0 0 2 2h8a2 2 0 0 0 2-2V7H6v12ZM19 4h-3.5l-1-1h-5l-1 1H5v2h14V4Z",
  plus: "M19 13h-6v6h-2v-6H5v-2h6V5h2v6h6v2Z",
  retry: "M17.65 6.35A7.96 7.96 0 0 0 12 4a8 8 0 1 0 7.73 10h-2.08A6 6 0 1 1 12 6c1.66 0 3.14.69 4.22 1.78L13 11h7V4l-2.35 2.35Z",
};

/**
 * Visually hidden text for screen readers.
 * @param {string} text
 */
export function srOnly(text) {
  return h("span", { class: "nbrt-sr-only", text });
}
