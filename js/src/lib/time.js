// Relative time ("5 min ago") from ISO strings.

/**
 * @param {unknown} iso
 * @returns {number | null} epoch milliseconds, or null when missing/invalid
 */
export function parseTime(iso) {
  if (typeof iso !== "string" || !iso) return null;
  const t = Date.parse(iso);
  return Number.isNaN(t) ? null : t;
}

/**
 * "just now", "5 min ago", "3 h ago", "2 days ago", then a date. Future times within a minute count as now.
 * @param {unknown} iso
 * @param {number} [now] epoch ms (defaults to Date.now())
 * @returns {string} "" when the time is missing or invalid
 */
export function relativeTime(iso, now = Date.now()) {
  const t = parseTime(iso);
  if (t === null) return "";
  const seconds = Math.round((now - t) / 1000);
  if (seconds < 45) return "just now";
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `${minutes} min ago`;
  const hours = Math.round(minutes / 60);
  if (hours < 24) return `${hours} h ago`;
  const days = Math.round(hours / 24);
  if (days < 7) return days === 1 ? "yesterday" : `${days} days ago`;
  return new Date(t).toLocaleDateString(undefined, { year: "numeric", month: "short", day: "numeric" });
}

/**
 * Full local date-time for tooltips.
 * @param {unknown} iso
 */
export function absoluteTime(iso) {
  const t = parseTime(iso);
  return t === null ? "" : new Date(t).toLocaleString();
}
