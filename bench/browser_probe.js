// Injected into every benchmark page (Playwright init script) as `window.__probe`: timestamps on one clock for all
// pages of the browser (`performance.timeOrigin + …`, the same monotonic base in every page of one Chromium).
// The typing page records each keydown; the watching page records when the text it shows has grown by k characters:
// a MutationObserver sees the DOM change, and the time is taken in the next animation frame (what reaches the screen).
(() => {
  const clock = () => performance.timeOrigin + performance.now();

  /** CodeMirror 6's document text of the editor whose `.cm-content` is `content` (DOM text as a fallback). */
  const docText = (content) => {
    const tile = content.cmTile || content.cmView;
    const view = tile && ((tile.root && tile.root.view) || (tile.rootView && tile.rootView.view));
    return view && view.state ? view.state.doc.toString() : content.textContent;
  };

  const probe = {
    keys: [],
    arrivals: [],
    observers: [],

    /** Record the time of every keydown of `key` (any key if null) from now on, on this page. */
    armKeys(key = null) {
      probe.keys = [];
      if (probe.onKey) document.removeEventListener("keydown", probe.onKey, true);
      probe.onKey = (e) => {
        if (key === null || e.key === key) probe.keys.push(performance.timeOrigin + e.timeStamp);
      };
      document.addEventListener("keydown", probe.onKey, true);
    },

    stop() {
      probe.observers.forEach((o) => o.disconnect());
      probe.observers = [];
    },

    /** arrivals[k] = the frame after `text()` first had k more characters than now (DOM changes under `target`). */
    watchGrowth(target, text) {
      probe.stop();
      const base = text().length;
      probe.arrivals = [];
      let seen = 0;
      let pending = 0;
      const observer = new MutationObserver(() => {
        const grown = text().length - base;
        if (grown <= Math.max(seen, pending)) return;
        const first = pending === 0;
        pending = grown;
        if (!first) return;
        requestAnimationFrame(() => {
          const t = clock();
          for (let k = seen; k < pending; k++) probe.arrivals[k] = t;
          seen = pending;
          pending = 0;
        });
      });
      observer.observe(target, { subtree: true, childList: true, characterData: true });
      probe.observers.push(observer);
      return true;
    },

    /** Watch the CodeMirror editor whose `.cm-content` matches `selector`. */
    watchEditor(selector) {
      const content = document.querySelector(selector);
      return Boolean(content) && probe.watchGrowth(content, () => docText(content));
    },

    /** Watch `root` (a selector) until `predicate` (a function of the root element, as source text) holds; the
     * frame after that is pushed to arrivals. */
    watchUntil(selector, predicate) {
      probe.stop();
      const root = document.querySelector(selector);
      const test = new Function("root", `return (${predicate})(root);`);
      if (!root) return false;
      const observer = new MutationObserver(() => {
        if (!test(root)) return;
        observer.disconnect();
        requestAnimationFrame(() => probe.arrivals.push(clock()));
      });
      observer.observe(root, { subtree: true, childList: true, characterData: true, attributes: true });
      probe.observers.push(observer);
      return true;
    },

    /** The no-network floor: a text box on this page whose every input is echoed into a mirror element, watched
     * like a remote editor. Keydown → input → DOM change → next frame, with no network, kernel or CRDT. */
    echo() {
      const box = probe.input();
      const mirror = probe.mirror();
      box.addEventListener("input", () => {
        mirror.textContent = box.value;
      });
      probe.watchGrowth(mirror, () => mirror.textContent);
      return true;
    },

    /** A focused text box on top of the page (so typed letters never reach JupyterLab's shortcuts). */
    input() {
      const box = probe.box("textarea", { top: "0", width: "200px" });
      box.focus();
      return box;
    },

    mirror() {
      return probe.box("div", { top: "40px", background: "white" });
    },

    /** An element of `tag` fixed on top of the page, removed by clear(). */
    box(tag, style) {
      const element = document.createElement(tag);
      element.className = "probe-box";
      Object.assign(element.style, { position: "fixed", left: "0", zIndex: 10000, ...style });
      document.body.append(element);
      return element;
    },

    /** Remove the boxes and observers of echo() and relay(). */
    clear() {
      probe.stop();
      if (probe.socket) probe.socket.close();
      document.querySelectorAll(".probe-box").forEach((e) => e.remove());
    },

    /** The two-page network floor: keydowns on the sending page go to a bare websocket relay, which forwards them
     * to the receiving page, which appends them to a mirror element (watched like an editor). Resolves when open. */
    relay(url, role) {
      const socket = new WebSocket(url);
      probe.socket = socket;
      if (role === "send") {
        probe.input().addEventListener("keydown", (e) => socket.readyState === 1 && socket.send(e.key));
      } else {
        const mirror = probe.mirror();
        socket.onmessage = (e) => mirror.append(e.data);
        probe.watchGrowth(mirror, () => mirror.textContent);
      }
      return new Promise((resolve, reject) => {
        socket.onopen = () => resolve(true);
        socket.onerror = () => reject(new Error(`no relay at ${url}`));
      });
    },
  };
  window.__probe = probe;
})();
