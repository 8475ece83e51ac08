// One anywidget view made of several view modules that share one model (hosts such as marimo show a single
// anywidget per output, not a container of widgets). Each part renders into its own slot, in order.
import { h } from "./dom.js";

/**
 * @typedef {{ render(ctx: { model: import("./model.js").Model, el: HTMLElement }): (void | (() => void)) }} View
 */

/**
 * @param {string} className the composite's root class
 * @param {...View} parts
 * @returns {View}
 */
export function compose(className, ...parts) {
  return {
    render({ model, el }) {
      const root = h("div", { class: ["nbrt-root", "nbrt-composite", className] });
      el.append(root);
      const cleanups = parts.map((part) => {
        const slot = h("div", { class: "nbrt-slot" });
        root.append(slot);
        return part.render({ model, el: slot });
      });
      return () => {
        for (const cleanup of cleanups.reverse()) cleanup?.();
        root.remove();
      };
    },
  };
}
