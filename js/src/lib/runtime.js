// Heavy code shared by every view on a page, evaluated once: anywidget loads each widget's ESM on its own, so a
// library bundled into a widget module would be evaluated again for every module (two copies of Yjs break its
// constructor checks and double the memory). A widget module instead carries a runtime's source as text and imports
// it through here: the first caller on the page evaluates it, every later one gets the same module.

/**
 * @param {string} name a runtime's name ("editor", "link")
 * @param {string} source its bundled ESM source
 * @param {string} hash the source's content hash (a page that already holds another build keeps both apart)
 * @returns {Promise<any>}
 */
export function loadRuntime(name, source, hash) {
  const registry = /** @type {Record<string, Promise<any>>} */ (
    /** @type {any} */ (globalThis).__nbrealtime_runtimes ??= {}
  );
  const id = `${name}@${hash}`;
  registry[id] ??= (async () => {
    const url = URL.createObjectURL(new Blob([source], { type: "text/javascript" }));
    try {
      return await import(/* @vite-ignore */ url);
    } finally {
      URL.revokeObjectURL(url);
    }
  })();
  return registry[id];
}
