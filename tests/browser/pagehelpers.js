// Injected into every test page (Playwright init script) as `window.__nbrt`: read JupyterLab and the nbrealtime
// widgets without depending on timing. Everything here is synchronous and side-effect free except `appendCell`.
(() => {
  const strip = (s) => String(s).replace(/\u001b\[[0-9;]*m/g, "");

  const api = {
    /** The NotebookPanel in focus, if JupyterLab has started. */
    panel() {
      const app = window.jupyterapp;
      const w = app && app.shell && app.shell.currentWidget;
      return w && w.content && w.context && w.sessionContext ? w : null;
    },

    /** Whether `path` is open and its kernel is connected and idle. */
    kernelReady(path) {
      const p = api.panel();
      if (!p || p.context.path !== path || !p.context.isReady) return false;
      const kernel = p.sessionContext.session && p.sessionContext.session.kernel;
      return Boolean(kernel) && kernel.connectionStatus === "connected" && kernel.status === "idle";
    },

    kernelStatus() {
      const p = api.panel();
      const kernel = p && p.sessionContext.session && p.sessionContext.session.kernel;
      return kernel ? `${kernel.connectionStatus}/${kernel.status}` : "no kernel";
    },

    /** The error of a cell's outputs as text, or null. */
    cellError(cell) {
      for (const out of cell.model.outputs.toJSON()) {
        if (out.output_type === "error") {
          return strip(`${out.ename}: ${out.evalue}\n${(out.traceback || []).join("\n")}`);
        }
      }
      return null;
    },

    cellRunning(cell) {
      const prompt = cell.node.querySelector(".jp-InputPrompt");
      return cell.model.executionCount === null || Boolean(prompt && prompt.textContent.includes("*"));
    },

    /** Every code cell has run: {done: true}; a cell failed: {error}; otherwise false (keep waiting). */
    allDone() {
      const p = api.panel();
      if (!p) return false;
      for (const cell of p.content.widgets) {
        if (cell.model.type !== "code") continue;
        const error = api.cellError(cell);
        if (error) return { error };
        if (api.cellRunning(cell)) return false;
      }
      const kernel = p.sessionContext.session && p.sessionContext.session.kernel;
      return kernel && kernel.status === "idle" ? { done: true } : false;
    },

    cellById(id) {
      const p = api.panel();
      return p ? p.content.widgets.find((cell) => cell.model.id === id) || null : null;
    },

    /** {done, error, outputs} of the cell with this model id once it has run, else false. */
    cellResult(id) {
      const cell = api.cellById(id);
      if (!cell) return { error: `cell ${id} is gone` };
      const error = api.cellError(cell);
      if (error) return { error };
      if (api.cellRunning(cell)) return false;
      return { done: true, outputs: cell.model.outputs.toJSON() };
    },

    cellOutputs(id) {
      const cell = api.cellById(id);
      return cell ? cell.model.outputs.toJSON() : [];
    },

    /** Append a code cell and start it (not awaited: the test waits on `cellResult`). Returns its model id. */
    appendCell(code) {
      const p = api.panel();
      const model = p.content.model;
      const index = model.cells.length;
      model.sharedModel.insertCell(index, { cell_type: "code", source: code });
      p.content.activeCellIndex = index;
      p.content.deselectAll();
      const id = model.cells.get(index).id;
      window.jupyterapp.commands.execute("notebook:run-cell").catch((e) => console.error("run-cell failed", e));
      return id;
    },

    /** The presence badges of the n-th presence view: [{name, status, self, initials}]. */
    members(n = 0) {
      const root = document.querySelectorAll(".nbrt-presence")[n];
      if (!root) return null;
      return [...root.querySelectorAll("li.nbrt-member:not(.nbrt-member--more)")].map((li) => {
        const dot = li.querySelector(".nbrt-status-dot");
        const status = dot ? [...dot.classList].find((c) => c.startsWith("nbrt-status--")) : null;
        return {
          name: li.dataset.name || "",
          status: status ? status.slice("nbrt-status--".length) : null,
          self: li.classList.contains("nbrt-member--self"),
          initials: (li.querySelector(".nbrt-avatar") || {}).textContent || "",
        };
      });
    },

    /** Bring `el` into the notebook's viewport, but undo any scrolling inside the widget: a user does not scroll a
     * panel sideways to find a badge, so what a widget clips or pushes out of view stays out of view. */
    scrollAsUser(el) {
      const scroller = el.closest(".jp-WindowedPanel-outer");
      const saved = [];
      for (let a = el.parentElement; a && a !== scroller; a = a.parentElement) saved.push([a, a.scrollLeft, a.scrollTop]);
      el.scrollIntoView({ block: "center", inline: "nearest" });
      for (const [a, left, top] of saved) {
        a.scrollLeft = left;
        a.scrollTop = top;
      }
    },

    /** Whether a user could see `el`: scrolled into view, it is the topmost element at its own centre (not clipped
     * by an ancestor's overflow, not covered, not zero-sized). */
    shown(el) {
      if (!el) return false;
      api.scrollAsUser(el);
      const r = el.getBoundingClientRect();
      if (r.width < 1 || r.height < 1) return false;
      const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
      return Boolean(hit) && (hit === el || el.contains(hit));
    },

    /** Whether the badge of `name` in the n-th presence view is visible on screen. */
    memberShown(name, n = 0) {
      const root = document.querySelectorAll(".nbrt-presence")[n];
      const li = root && [...root.querySelectorAll("li.nbrt-member")].find((e) => e.dataset.name === name);
      return api.shown(li);
    },

    memberStatus(name, n = 0) {
      const found = (api.members(n) || []).find((m) => m.name === name);
      return found ? found.status : null;
    },

    /** The text of the n-th shared-cell editor (CodeMirror's document; DOM text without widgets as a fallback). */
    editorText(n = 0) {
      const editor = document.querySelectorAll(".nbrt-editor")[n];
      const content = editor && editor.querySelector(".cm-content");
      if (!content) return null;
      const tile = content.cmTile || content.cmView;
      const view = tile && ((tile.root && tile.root.view) || (tile.rootView && tile.rootView.view));
      if (view && view.state) return view.state.doc.toString();
      const copy = content.cloneNode(true);
      copy.querySelectorAll(".cm-ySelectionCaret, .cm-placeholder, .cm-widgetBuffer").forEach((e) => e.remove());
      return [...copy.querySelectorAll(".cm-line")].map((l) => l.textContent.replace(/\u2060/g, "")).join("\n");
    },

    editorReady(n = 0) {
      const editor = document.querySelectorAll(".nbrt-editor")[n];
      if (!editor || editor.classList.contains("nbrt-editor--syncing")) return false;
      const content = editor.querySelector(".cm-content");
      return Boolean(content) && content.getAttribute("contenteditable") === "true";
    },

    /** Names shown on remote carets in the n-th editor. */
    remoteCarets(n = 0) {
      const editor = document.querySelectorAll(".nbrt-editor")[n];
      return editor ? [...editor.querySelectorAll(".cm-ySelectionInfo")].map((e) => e.textContent) : [];
    },

    badge(n = 0) {
      const badge = document.querySelectorAll(".nbrt-notifications .nbrt-badge")[n];
      return badge ? { text: badge.textContent, hidden: badge.hidden } : null;
    },

    toastTitles() {
      return [...document.querySelectorAll(".nbrt-toasts .nbrt-toast-title")].map((e) => e.textContent);
    },

    /** The model id of the code cell at `index` (notebook order), or null. */
    cellIdAt(index) {
      const p = api.panel();
      const cell = p && p.content.widgets[index];
      return cell ? cell.model.id : null;
    },

    /** The rows of the n-th live-table view as shown: [{key, cells: {column: text}, status, chip, error, buttons}]. */
    tableRows(n = 0) {
      const table = document.querySelectorAll(".nbrt-table")[n];
      if (!table) return null;
      const columns = [...table.querySelectorAll("thead th")].map((th) => th.textContent);
      return [...table.querySelectorAll("tbody tr.nbrt-row")].map((tr) => {
        const tds = [...tr.children];
        const cells = {};
        columns.forEach((c, i) => {
          if (!tds[i] || tds[i].classList.contains("nbrt-row-status")) return;
          const box = tds[i].querySelector("input[type=checkbox]");
          const mark = tds[i].querySelector(".nbrt-bool");
          cells[c] = box ? String(box.checked) : mark ? mark.getAttribute("aria-label") : tds[i].textContent;
        });
        const status = [...tr.classList].find((c) => c.startsWith("nbrt-row--"));
        const chip = tr.querySelector(".nbrt-chip");
        const line = tr.nextElementSibling;
        const error = line && line.matches(".nbrt-row-error-line") ? line.querySelector(".nbrt-row-error") : null;
        return {
          key: (tr.querySelector(".nbrt-cell--key") || {}).textContent,
          cells,
          status: status ? status.slice("nbrt-row--".length) : null,
          busy: tr.getAttribute("aria-busy") === "true",
          chip: chip ? chip.textContent : null,
          error: error ? error.textContent : null,
          buttons: [...tr.querySelectorAll("button.nbrt-button")].map((b) => b.textContent),
        };
      });
    },

    /** The 1-based position of `column` in the n-th live table's header (for `td:nth-child`), or 0. */
    tableColumn(column, n = 0) {
      const table = document.querySelectorAll(".nbrt-table")[n];
      return table ? [...table.querySelectorAll("thead th")].findIndex((th) => th.textContent === column) + 1 : 0;
    },

    /** Start recording every row of the n-th live table that is shown with the `nbrt-flash` highlight (a row is
     * redrawn as a new element, so both added nodes and class changes count). Read with `flashes()`. */
    watchFlashes(n = 0) {
      const table = document.querySelectorAll(".nbrt-table")[n];
      const seen = (window.__nbrtFlashes = []);
      const note = (tr) => {
        if (tr.nodeType === Node.ELEMENT_NODE && tr.matches("tr.nbrt-flash") && tr.isConnected) {
          seen.push({ key: (tr.querySelector(".nbrt-cell--key") || {}).textContent, text: tr.textContent });
        }
      };
      const observer = new MutationObserver((records) => {
        for (const r of records) {
          if (r.type === "attributes") note(r.target);
          else r.addedNodes.forEach(note);
        }
      });
      observer.observe(table, { subtree: true, childList: true, attributes: true, attributeFilter: ["class"] });
      return Boolean(table);
    },

    /** Record whether any element matching `selector` shows up (now or later); read with `seenEver(selector)`. */
    watchFor(selector) {
      const seen = (window.__nbrtSeen = window.__nbrtSeen || {});
      seen[selector] = Boolean(document.querySelector(selector));
      new MutationObserver(() => {
        if (document.querySelector(selector)) seen[selector] = true;
      }).observe(document.body, { subtree: true, childList: true, attributes: true, characterData: true });
    },

    seenEver(selector) {
      return Boolean((window.__nbrtSeen || {})[selector]);
    },

    flashes() {
      return window.__nbrtFlashes || [];
    },

    /** How far each edge of `el` is inside every ancestor that clips it (overflow other than visible) and the
     * viewport: {top, right, bottom, left} in px, the smallest over all of them; negative means cut off there. */
    clipRoom(el) {
      if (!el) return null;
      api.scrollAsUser(el);
      const r = el.getBoundingClientRect();
      const room = { top: r.top, left: r.left, right: innerWidth - r.right, bottom: innerHeight - r.bottom };
      for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
        const style = getComputedStyle(a);
        if (style.overflowX === "visible" && style.overflowY === "visible") continue;
        const box = a.getBoundingClientRect();
        const top = box.top + a.clientTop;
        const left = box.left + a.clientLeft;
        room.top = Math.min(room.top, r.top - top);
        room.left = Math.min(room.left, r.left - left);
        room.right = Math.min(room.right, left + a.clientWidth - r.right);
        room.bottom = Math.min(room.bottom, top + a.clientHeight - r.bottom);
      }
      return room;
    },

    /** Whether a floating overlay (position: fixed) is wholly on screen and on top: inside the viewport, and the
     * topmost element at each of its corners (2 px in), so no ancestor clips it and nothing covers it. */
    overlayShown(el) {
      if (!el) return false;
      const r = el.getBoundingClientRect();
      if (r.width < 1 || r.height < 1 || r.top < 0 || r.left < 0 || r.bottom > innerHeight || r.right > innerWidth) return false;
      return [[r.left + 2, r.top + 2], [r.right - 2, r.top + 2], [r.left + 2, r.bottom - 2], [r.right - 2, r.bottom - 2]]
        .every(([x, y]) => { const hit = document.elementFromPoint(x, y); return Boolean(hit) && el.contains(hit); });
    },

    /** clipRoom() of the remote caret label showing `name` in the n-th editor. */
    caretLabelRoom(name, n = 0) {
      const editor = document.querySelectorAll(".nbrt-editor")[n];
      const label = editor && [...editor.querySelectorAll(".cm-ySelectionInfo")].find((e) => e.textContent === name);
      return label ? api.clipRoom(label) : null;
    },

    /** A view's visible state (text, classes, labels; hidden subtrees elided), to compare two views of a widget. */
    snapshot(selector, n) {
      const root = document.querySelectorAll(selector)[n];
      if (!root) return null;
      const walk = (node) => {
        if (node.nodeType === Node.TEXT_NODE) return node.textContent;
        if (node.nodeType !== Node.ELEMENT_NODE) return "";
        if (node.hasAttribute("hidden")) return `<${node.tagName.toLowerCase()} hidden/>`; // what nobody sees
        if (node.matches(".nbrt-toasts")) return ""; // the page's one toast region, held by whichever view came first
        const attrs = ["class", "title", "aria-label", "hidden", "disabled", "aria-expanded", "aria-busy"]
          .map((a) => (node.hasAttribute(a) ? `${a}=${node.getAttribute(a)}` : ""))
          .filter(Boolean)
          .join(" ");
        return `<${node.tagName.toLowerCase()} ${attrs}>${[...node.childNodes].map(walk).join("")}</>`;
      };
      return walk(root);
    },
  };
  window.__nbrt = api;
})();
