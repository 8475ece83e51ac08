// The shared cell editor widget. The editor (CodeMirror, Yjs) and the link to the backend (the official realtime and
// REST clients) are runtimes evaluated once per page however many editors it shows (lib/runtime.js); this module
// only loads them and hands the view its model.
import editor from "runtime:editor";
import link from "runtime:link";
import { loadRuntime } from "./lib/runtime.js";

/**
 * Yjs marks the page when it is evaluated and logs an error when the mark is already there. JupyterLab's own Yjs
 * (its notebook model) sets it before ours loads; ours is a separate copy on purpose — its documents never meet
 * JupyterLab's, so the constructor checks the warning is about cannot mix them up. Hide the mark while ours loads.
 */
const YJS_MARK = "__ $YJS$ __";

async function loadEditorRuntime() {
  const page = /** @type {any} */ (globalThis);
  const marked = page[YJS_MARK];
  delete page[YJS_MARK];
  try {
    return await loadRuntime("editor", editor.source, editor.hash);
  } finally {
    if (marked) page[YJS_MARK] = marked;
  }
}

export default {
  /** @param {{ model: import("./lib/model.js").Model, el: HTMLElement }} ctx */
  async render({ model, el }) {
    const [view, links] = await Promise.all([loadEditorRuntime(), loadRuntime("link", link.source, link.hash)]);
    return view.default.render({ model, el, links });
  },
};
