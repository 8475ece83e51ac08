import { initials, readableTextColor, safeColor } from "./color.js";
import { h } from "./dom.js";

/**
 * A round avatar with initials on the user's colour.
 * @param {{ name?: unknown, color?: unknown }} user
 * @param {{ size?: "sm" | "md", title?: string, class?: string, text?: string }} [opts] `text`: initials chosen by
 *   the caller (e.g. told apart from other people's)
 */
export function avatar(user, opts = {}) {
  const bg = safeColor(user.color);
  return h("span", {
    class: ["nbrt-avatar", opts.size === "sm" && "nbrt-avatar--sm", opts.class],
    style: { "background-color": bg, color: readableTextColor(bg) },
    title: opts.title,
    "aria-hidden": "true",
    text: opts.text ?? initials(user.name),
  });
}
