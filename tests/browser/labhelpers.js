// Injected into the lab-extension test pages (Playwright init script) as `window.__lab`: read what nbrealtime's
// JupyterLab extension shows — follow mode, people in the notebook, the read-only view — without timing. Everything
// here is synchronous; `command` starts a JupyterLab command and does not wait for it.
(() => {
  const panel = () => {
    const app = window.jupyterapp;
    const w = app && app.shell && app.shell.currentWidget;
    return w && w.content && w.context && w.context.isReady ? w : null;
  };
  const byCell = (selector) => {
    const p = panel();
    if (!p) return {};
    const found = {};
    for (const cell of p.content.widgets) {
      const nodes = [...cell.node.querySelectorAll(selector)];
      if (nodes.length) found[cell.model.id] = nodes.map((node) => node.textContent);
    }
    return found;
  };

  window.__lab = {
    /** The current notebook as this JupyterLab shows it: path, cell ids, the active and the followed cell. */
    view() {
      const p = panel();
      if (!p) return null;
      const followed = p.content.widgets.find((cell) => cell.node.classList.contains("nbrt-followed-cell"));
      return {
        path: p.context.path,
        cells: p.content.widgets.map((cell) => cell.model.id),
        active: p.content.activeCell ? p.content.activeCell.model.id : null,
        followed: followed ? followed.model.id : null,
      };
    },

    /** The follow bar's text and whether it shows Resume, or null when it is not shown. */
    bar() {
      const bar = document.querySelector(".nbrt-follow-bar");
      if (!bar || !bar.checkVisibility()) return null;
      return {
        text: bar.querySelector(".nbrt-follow-text").textContent,
        resume: bar.querySelector(".nbrt-follow-resume").checkVisibility(),
      };
    },

    /** {cell id: [names]} of the other people's markers in the current notebook. */
    people: () => byCell(".nbrt-cell-person"),

    /** {cell id: ["ran by …"]} of the run stamps in the current notebook. */
    ranBy: () => byCell(".nbrt-ran-by"),

    /** The read-only banner's text in the current notebook, or null. */
    banner() {
      const p = panel();
      const banner = p && p.node.querySelector(".nbrt-read-only-banner");
      return banner ? banner.textContent : null;
    },

    /** The source of the current notebook's cells, in order. */
    sources() {
      const p = panel();
      return p ? p.content.model.sharedModel.cells.map((cell) => cell.getSource()) : null;
    },

    /** Start a JupyterLab command (its failure is a console error, which fails the test). */
    command(id, args = {}) {
      window.jupyterapp.commands.execute(id, args).catch((e) => console.error(`nbrealtime test: ${id} failed`, e));
    },
  };
})();
