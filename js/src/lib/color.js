// Colours and avatars. Colours come from other users, so they are validated before they reach a style.

const HEX = /^#(?:[0-9a-f]{3}|[0-9a-f]{4}|[0-9a-f]{6}|[0-9a-f]{8})$/i;
const FUNC = /^(?:rgb|rgba|hsl|hsla)\(\s*[-+0-9.%,\s/deg]+\)$/i;
const NAMED = /^[a-z]{3,20}$/i;

/**
 * A colour that is safe to put in a style (hex, rgb()/hsl(), or a plain colour keyword), else `fallback`.
 * @param {unknown} color
 * @param {string} [fallback]
 * @returns {string}
 */
export function safeColor(color, fallback = "#757575") {
  if (typeof color !== "string") return fallback;
  const c = color.trim();
  if (HEX.test(c) || FUNC.test(c) || NAMED.test(c)) return c;
  return fallback;
}

/**
 * Parse a hex colour to [r, g, b] (0–255), or null when it is not hex.
 * @param {string} color
 * @returns {[number, number, number] | null}
 */
export function parseHex(color) {
  if (!HEX.test(color)) return null;
  let hex = color.slice(1);
  if (hex.length <= 4) hex = [...hex].map((ch) => ch + ch).join("");
  return [0, 2, 4].map((i) => parseInt(hex.slice(i, i + 2), 16));
}

/**
 * Parse rgb()/rgba() to [r, g, b], or null.
 * @param {string} color
 * @returns {[number, number, number] | null}
 */
function parseRgb(color) {
  const m = /^rgba?\(\s*([\d.]+)[\s,]+([\d.]+)[\s,]+([\d.]+)/i.exec(color);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

/** @param {[number, number, number]} rgb */
function luminance([r, g, b]) {
  const lin = (/** @type {number} */ v) => {
    const s = v / 255;
    return s <= 0.03928 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
}

/**
 * Black or white, whichever has the better WCAG contrast on `background`.
 * Unknown formats (keywords, hsl) get white text.
 * @param {string} background
 * @returns {"#000000" | "#ffffff"}
 */
export function readableTextColor(background) {
  const rgb = parseHex(background) ?? parseRgb(background);
  if (!rgb) return "#ffffff";
  const l = luminance(rgb);
  const contrastWhite = 1.05 / (l + 0.05);
  const contrastBlack = (l + 0.05) / 0.05;
  return contrastBlack >= contrastWhite ? "#000000" : "#ffffff";
}

/**
 * A translucent version of a colour for selections/highlights.
 * @param {string} color a safeColor() result
 * @param {number} [alpha] 0–1
 */
export function translucent(color, alpha = 0.2) {
  const rgb = parseHex(color);
  if (rgb) return `rgba(${rgb[0]}, ${rgb[1]}, ${rgb[2]}, ${alpha})`;
  return `color-mix(in srgb, ${color} ${Math.round(alpha * 100)}%, transparent)`;
}

/**
 * Up to two initials from a display name ("Ada Lovelace" → "AL", "grace" → "G", "" → "?"): the first letter or
 * digit of the first and last words, so punctuation and symbols never become initials ("<img src=x>" → "IS",
 * "(bob)" → "B", "🙂" → "?").
 * @param {unknown} name
 */
export function initials(name) {
  const letters = String(name ?? "")
    .trim()
    .split(/[\s._@-]+/u)
    .map((word) => /[\p{L}\p{N}][\p{M}]*/u.exec(word)?.[0] ?? "")
    .filter(Boolean);
  if (!letters.length) return "?";
  const first = letters[0];
  const last = letters.length > 1 ? letters[letters.length - 1] : "";
  return (first + last).toUpperCase();
}

/**
 * Initials that tell the given people apart: a name whose initials another name shares gets the first two letters
 * of its first word instead ("alice", "ada" → "Al", "Ad"), so two badges never look alike by their text alone.
 * @param {unknown[]} names
 * @returns {string[]}
 */
export function distinctInitials(names) {
  const plain = names.map(initials);
  const count = new Map();
  for (const i of plain) count.set(i, (count.get(i) ?? 0) + 1);
  return names.map((name, n) => {
    if (count.get(plain[n]) === 1 || plain[n] === "?") return plain[n];
    const word = String(name ?? "").trim().split(/[\s._@-]+/u).find((w) => /[\p{L}\p{N}]/u.test(w)) ?? "";
    const letters = [...word.matchAll(/[\p{L}\p{N}][\p{M}]*/gu)].map((m) => m[0]);
    return letters.length > 1 ? letters[0].toUpperCase() + letters[1].toLowerCase() : plain[n];
  });
}
