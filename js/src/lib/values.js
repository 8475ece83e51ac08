// Rendering and parsing of cell values (tables, conflict cards).

/**
 * Text for a value: strings as they are, objects as compact JSON, null/undefined as "".
 * @param {unknown} value
 * @returns {string}
 */
export function formatValue(value) {
  if (value === null || value === undefined) return "";
  if (typeof value === "string") return value;
  if (typeof value === "object") {
    try {
      return JSON.stringify(value);
    } catch {
      return String(value);
    }
  }
  return String(value);
}

/**
 * Parse text typed by the user into a value shaped like `original`: numbers stay numbers, booleans booleans,
 * objects/arrays JSON; strings (and null originals) stay text.
 * @param {string} text
 * @param {unknown} original
 * @returns {{ ok: true, value: unknown } | { ok: false, error: string }}
 */
export function parseLike(text, original) {
  if (typeof original === "number") {
    const trimmed = text.trim();
    if (trimmed === "") return { ok: true, value: null };
    const n = Number(trimmed);
    return Number.isFinite(n) ? { ok: true, value: n } : { ok: false, error: "Enter a number" };
  }
  if (typeof original === "boolean") {
    const t = text.trim().toLowerCase();
    if (t === "true") return { ok: true, value: true };
    if (t === "false") return { ok: true, value: false };
    return { ok: false, error: "Enter true or false" };
  }
  if (original !== null && typeof original === "object") {
    try {
      return { ok: true, value: JSON.parse(text) };
    } catch {
      return { ok: false, error: "Enter valid JSON" };
    }
  }
  return { ok: true, value: text };
}

/**
 * Deep-ish equality for JSON values.
 * @param {unknown} a
 * @param {unknown} b
 */
export function sameValue(a, b) {
  if (a === b) return true;
  if (typeof a !== "object" || typeof b !== "object" || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}
