// Shared cell editor: CodeMirror 6 bound to a browser-side Y.Doc replica (y-codemirror.next), synced with the
// kernel's pycrdt document over binary widget messages. Per-user undo, remote carets from the `cursors` trait.
import { defaultKeymap, indentWithTab } from "@codemirror/commands";
import { markdownKeymap, markdownLanguage } from "@codemirror/lang-markdown";
import { pythonLanguage } from "@codemirror/lang-python";
import { bracketMatching, HighlightStyle, indentOnInput, LanguageSupport, syntaxHighlighting } from "@codemirror/language";
import { Compartment, EditorState, Prec } from "@codemirror/state";
import {
  drawSelection,
  EditorView,
  highlightActiveLine,
  highlightSpecialChars,
  keymap,
  lineNumbers,
  placeholder,
} from "@codemirror/view";
import { tags as t } from "@lezer/highlight";
import { yCollab, ySyncAnnotation, yUndoManagerKeymap } from "y-codemirror.next";
import * as Y from "yjs";
import { toBytes } from "../lib/binary.js";
import { safeColor, translucent } from "../lib/color.js";
import { h, replace } from "../lib/dom.js";
import { Disposer, getList, str } from "../lib/model.js";
import { liveness, notice, readOnly } from "../lib/liveness.js";
import { throttle } from "../lib/timing.js";
import { CellLink } from "./direct.js";

/** Origin of transactions that came from the kernel; everything else is local and is sent. */
export const REMOTE = "remote";
export const CURSOR_THROTTLE_MS = 120;

/**
 * @typedef {{ client_id: string | number, name: string, color: string, anchor: any, head: any }} RemoteCursor
 */

/** @param {unknown} id */
const isId = (id) =>
  Boolean(id) && typeof id === "object" && Number.isSafeInteger(/** @type {any} */ (id).client) &&
  Number.isSafeInteger(/** @type {any} */ (id).clock) && /** @type {any} */ (id).clock >= 0;

/**
 * Whether `v` has the shape of `Y.relativePositionToJSON()` output. Anything else could crash the remote-selection
 * plugin, and CodeMirror disables a plugin that throws.
 * @param {unknown} v
 */
export function isRelativePositionJSON(v) {
  if (!v || typeof v !== "object" || Array.isArray(v)) return false;
  const p = /** @type {Record<string, unknown>} */ (v);
  if (p.assoc !== undefined && typeof p.assoc !== "number") return false;
  if (p.item != null) return isId(p.item);
  if (p.type != null) return isId(p.type);
  return typeof p.tname === "string";
}

/**
 * The minimal y-protocols Awareness surface that y-codemirror.next's remote-selection plugin reads, fed from the
 * `cursors` trait instead of an awareness connection. Local state stays null: this view sends its own cursor.
 */
export class TraitAwareness {
  /** @param {Y.Doc} doc */
  constructor(doc) {
    this.doc = doc;
    /** @type {Map<number | string, { user: { name: string, color: string, colorLight: string }, cursor: { anchor: Y.RelativePosition, head: Y.RelativePosition } }>} */
    this.states = new Map();
    /** @type {Set<(change: { added: any[], updated: any[], removed: any[] }, origin: any) => void>} */
    this._listeners = new Set();
  }

  getStates() {
    return this.states;
  }

  getLocalState() {
    return null;
  }

  setLocalStateField() {}

  /** @param {"change"} _event @param {(change: any, origin: any) => void} fn */
  on(_event, fn) {
    this._listeners.add(fn);
  }

  /** @param {"change"} _event @param {(change: any, origin: any) => void} fn */
  off(_event, fn) {
    this._listeners.delete(fn);
  }

  /** @param {RemoteCursor[]} cursors */
  setCursors(cursors) {
    const before = new Set(this.states.keys());
    this.states = new Map();
    for (const c of cursors) {
      if (!c || typeof c !== "object" || c.client_id == null) continue;
      if (!isRelativePositionJSON(c.anchor) || !isRelativePositionJSON(c.head)) continue;
      let anchor;
      let head;
      try {
        anchor = Y.createRelativePositionFromJSON(c.anchor);
        head = Y.createRelativePositionFromJSON(c.head);
      } catch {
        continue;
      }
      const color = safeColor(c.color, "#1976d2");
      // Keys are strings so that they never equal this doc's numeric clientID.
      this.states.set(`remote:${str(c.client_id)}`, {
        user: { name: str(c.name) || "Anonymous", color, colorLight: translucent(color, 0.25) },
        cursor: { anchor, head },
      });
    }
    const now = [...this.states.keys()];
    const change = {
      added: now.filter((k) => !before.has(k)),
      updated: now.filter((k) => before.has(k)),
      removed: [...before].filter((k) => !this.states.has(k)),
    };
    for (const fn of [...this._listeners]) fn(change, "trait");
  }
}

/** Syntax colours from JupyterLab's editor theme variables. */
const jpHighlight = HighlightStyle.define([
  { tag: t.keyword, color: "var(--jp-mirror-editor-keyword-color, #008000)", fontWeight: "bold" },
  { tag: [t.controlKeyword, t.moduleKeyword, t.operatorKeyword], color: "var(--jp-mirror-editor-keyword-color, #008000)", fontWeight: "bold" },
  { tag: [t.atom, t.bool, t.null], color: "var(--jp-mirror-editor-atom-color, #88f)" },
  { tag: t.number, color: "var(--jp-mirror-editor-number-color, #080)" },
  { tag: [t.definition(t.variableName), t.function(t.definition(t.variableName))], color: "var(--jp-mirror-editor-def-color, #00f)" },
  { tag: t.variableName, color: "var(--jp-mirror-editor-variable-color, inherit)" },
  { tag: [t.special(t.variableName), t.standard(t.variableName)], color: "var(--jp-mirror-editor-builtin-color, #008000)" },
  { tag: [t.propertyName, t.attributeName], color: "var(--jp-mirror-editor-property-color, #05a)" },
  { tag: [t.string, t.special(t.string)], color: "var(--jp-mirror-editor-string-color, #ba2121)" },
  { tag: t.comment, color: "var(--jp-mirror-editor-comment-color, #408080)", fontStyle: "italic" },
  { tag: t.operator, color: "var(--jp-mirror-editor-operator-color, #aa22ff)", fontWeight: "bold" },
  { tag: t.meta, color: "var(--jp-mirror-editor-meta-color, #aa22ff)" },
  { tag: [t.className, t.typeName], color: "var(--jp-mirror-editor-def-color, #00f)" },
  { tag: t.bracket, color: "var(--jp-mirror-editor-bracket-color, #997)" },
  { tag: t.heading, color: "var(--jp-mirror-editor-header-color, blue)", fontWeight: "bold" },
  { tag: t.quote, color: "var(--jp-mirror-editor-quote-color, #090)" },
  { tag: t.link, color: "var(--jp-mirror-editor-link-color, #05a)", textDecoration: "underline" },
  { tag: t.url, color: "var(--jp-mirror-editor-link-color, #05a)" },
  { tag: t.emphasis, fontStyle: "italic" },
  { tag: t.strong, fontWeight: "bold" },
  { tag: t.strikethrough, textDecoration: "line-through" },
  { tag: t.invalid, color: "var(--jp-mirror-editor-error-color, #f00)" },
]);

const jpTheme = EditorView.theme({
  "&": {
    color: "var(--jp-content-font-color1, var(--jp-ui-font-color1, #212121))",
    backgroundColor: "var(--jp-cell-editor-background, var(--jp-layout-color1, #fff))",
    fontSize: "var(--jp-code-font-size, 13px)",
  },
  ".cm-scroller": {
    fontFamily: "var(--jp-code-font-family, SFMono-Regular, Menlo, Consolas, monospace)",
    lineHeight: "var(--jp-code-line-height, 1.3817)",
  },
  ".cm-content": { caretColor: "var(--jp-editor-cursor-color, var(--jp-ui-font-color0, #000))", padding: "6px 0" },
  ".cm-cursor, .cm-dropCursor": { borderLeftColor: "var(--jp-editor-cursor-color, var(--jp-ui-font-color0, #000))" },
  "&.cm-focused": { outline: "none" },
  "&.cm-focused .cm-selectionBackground, .cm-selectionBackground, ::selection": {
    backgroundColor: "var(--jp-editor-selected-focused-background, rgba(33, 150, 243, 0.24))",
  },
  ".cm-gutters": {
    backgroundColor: "var(--jp-cell-editor-background, var(--jp-layout-color1, #fff))",
    color: "var(--jp-ui-font-color3, #aaa)",
    border: "none",
    borderRight: "1px solid var(--jp-border-color2, #e0e0e0)",
  },
  ".cm-activeLine": { backgroundColor: "var(--jp-cell-editor-active-background, rgba(0, 0, 0, 0.03))" },
  ".cm-activeLineGutter": { backgroundColor: "transparent", color: "var(--jp-ui-font-color1, #444)" },
  ".cm-matchingBracket": { backgroundColor: "var(--jp-editor-bracket-match, rgba(0, 128, 0, 0.15))", outline: "none" },
  ".cm-placeholder": { color: "var(--jp-ui-font-color3, #999)", fontStyle: "italic" },
  ".cm-ySelectionInfo": {
    fontFamily: "var(--jp-ui-font-family, system-ui, sans-serif)",
    fontSize: "10px",
    fontWeight: "600",
    borderRadius: "3px 3px 3px 0",
    padding: "1px 4px",
    top: "-1.45em",
    opacity: "0.95",
    pointerEvents: "none",
  },
  // On the first line a label above the caret would be cut off by the editor's top edge: put it below instead.
  ".cm-content > .cm-line:first-child .cm-ySelectionInfo": { top: "100%", borderRadius: "0 3px 3px 3px" },
  ".cm-ySelectionCaret:hover > .cm-ySelectionInfo": { opacity: "0.25" },
});

/** @param {unknown} language */
function languageExtension(language) {
  switch (str(language).toLowerCase()) {
    case "python":
    case "py":
    case "ipython":
      // Not python(): its completion sources need an autocompletion UI this editor does not load.
      return new LanguageSupport(pythonLanguage);
    case "markdown":
    case "md":
      // Not markdown(): its default HTML-in-Markdown support pulls in the HTML, CSS and JavaScript grammars
      // (~150 KB minified). GFM highlighting and list continuation are what a notebook cell needs.
      return new LanguageSupport(markdownLanguage, [Prec.high(keymap.of(markdownKeymap))]);
    default:
      return [];
  }
}

/** @param {unknown} language */
function languageLabel(language) {
  const l = str(language);
  return l ? l.charAt(0).toUpperCase() + l.slice(1) : "Plain text";
}

export default {
  /**
   * @param {{ model: import("../lib/model.js").Model, el: HTMLElement, links?: import("./direct.js").Links }} ctx
   * `links` is the link runtime; without it every edit goes through the kernel.
   */
  render({ model, el, links }) {
    const d = new Disposer();
    const doc = new Y.Doc();
    const ytext = doc.getText("source");
    // Only this view's own edits are undoable; y-codemirror adds its origin to the tracked set.
    const undoManager = new Y.UndoManager(ytext, { trackedOrigins: new Set() });
    const awareness = new TraitAwareness(doc);
    const languageConf = new Compartment();
    const editableConf = new Compartment();
    let synced = false;
    /** @type {EditorView | null} */
    let view = null;

    const lang = h("span", { class: "nbrt-editor-language" });
    const status = h("span", { class: "nbrt-editor-status", role: "status", "aria-live": "polite", text: "Connecting…" });
    const people = h("ul", { class: "nbrt-editor-people", role: "list", "aria-label": "Also editing" });
    const bar = h("div", { class: "nbrt-editor-bar" }, lang, status, people);
    // A closed room or a silent kernel: read-only with the reason (lib/liveness.js), never typing into the void.
    const banner = h("div", { class: "nbrt-notice", role: "status", hidden: true });
    const host = h("div", { class: "nbrt-editor-host" });
    const root = h("div", { class: "nbrt-root nbrt-editor nbrt-editor--syncing" }, bar, banner, host);
    el.append(root);

    /** @param {Uint8Array} bytes */
    const applyRemote = (bytes) => {
      try {
        Y.applyUpdate(doc, bytes, REMOTE);
      } catch (err) {
        console.error("nbrealtime: could not apply update", err);
      }
    };
    // --- backend ⇄ browser, straight (the kernel path below stays the fallback and the initial sync)
    const direct = new CellLink(links, model, applyRemote, (ready) => {
      root.dataset.path = ready ? "direct" : "kernel";
    });
    root.dataset.path = "kernel";
    d.add(() => direct.leave());

    // --- kernel → browser
    /** @param {any} msg @param {unknown[]} [buffers] */
    const onCustom = (msg, buffers = []) => {
      if (!msg || typeof msg !== "object") return;
      if (msg.type === "update") {
        for (const b of buffers) {
          const bytes = toBytes(b);
          if (bytes) applyRemote(bytes);
        }
        if (!synced) markSynced();
      } else if (msg.type === "sync" && msg.state_vector) {
        // The kernel asks what it is missing: answer with the diff against its state vector.
        const sv = toBytes(buffers[0]);
        const update = sv ? Y.encodeStateAsUpdate(doc, sv) : Y.encodeStateAsUpdate(doc);
        model.send({ type: "update" }, undefined, [update]);
      }
    };
    d.model(model, "msg:custom", onCustom);

    // --- browser → kernel
    /** @param {Uint8Array} update @param {any} origin */
    const onUpdate = (update, origin) => {
      if (origin !== REMOTE) direct.sendUpdate(update);
    };
    doc.on("update", onUpdate);
    d.add(() => doc.off("update", onUpdate));

    let lastCursor = "";
    const sendCursor = throttle(() => {
      if (!view) return;
      const sel = view.state.selection.main;
      const anchor = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, sel.anchor));
      const head = Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(ytext, sel.head));
      const json = JSON.stringify([anchor, head]);
      if (json === lastCursor) return;
      lastCursor = json;
      if (!direct.sendCursor(anchor, head)) model.send({ type: "cursor", anchor, head });
    }, CURSOR_THROTTLE_MS);
    d.add(() => sendCursor.cancel());

    const cursorListener = EditorView.updateListener.of((update) => {
      if (!update.selectionSet && !update.docChanged) return;
      const local = update.transactions.some((tr) => !tr.annotation(ySyncAnnotation) && (tr.selection || tr.docChanged));
      if (local) sendCursor();
    });

    view = new EditorView({
      parent: host,
      state: EditorState.create({
        doc: ytext.toString(),
        extensions: [
          keymap.of([...yUndoManagerKeymap, indentWithTab, ...defaultKeymap]),
          lineNumbers(),
          highlightSpecialChars(),
          drawSelection(),
          highlightActiveLine(),
          indentOnInput(),
          bracketMatching(),
          syntaxHighlighting(jpHighlight, { fallback: true }),
          EditorState.tabSize.of(4),
          placeholder("Start typing — everyone in the room sees it live"),
          languageConf.of(languageExtension(model.get("language"))),
          editableConf.of([EditorState.readOnly.of(true), EditorView.editable.of(false)]),
          jpTheme,
          yCollab(ytext, awareness, { undoManager }),
          cursorListener,
          EditorView.contentAttributes.of({ "aria-label": "Shared cell source" }),
        ],
      }),
    });

    const live = liveness(model);
    /** Why this user may not edit (a viewer), from the kernel; null when they may. */
    const refusal = () => str(model.get("read_only")) || null;
    const showNotice = () => {
      const reason = readOnly(live.state) ? notice(live.state) : refusal();
      banner.hidden = !reason;
      banner.textContent = reason ?? "";
      banner.className = `nbrt-notice nbrt-notice--${readOnly(live.state) ? live.state : "read-only"}`;
    };
    const applyEditable = () => {
      const writable = synced && !readOnly(live.state) && !refusal();
      root.classList.toggle("nbrt-editor--readonly", !writable && synced);
      view?.dispatch({
        effects: editableConf.reconfigure(writable ? [] : [EditorState.readOnly.of(true), EditorView.editable.of(false)]),
      });
    };
    d.add(
      live.subscribe(() => {
        showNotice();
        applyEditable();
      }),
    );
    d.model(model, "change:read_only", () => {
      showNotice();
      applyEditable();
    });

    function markSynced() {
      synced = true;
      root.classList.remove("nbrt-editor--syncing");
      status.textContent = "";
      applyEditable();
    }

    const drawLanguage = () => {
      lang.textContent = languageLabel(model.get("language"));
      view?.dispatch({ effects: languageConf.reconfigure(languageExtension(model.get("language"))) });
    };
    const drawCursors = () => {
      /** @type {RemoteCursor[]} */
      const cursors = getList(model, "cursors");
      awareness.setCursors(cursors);
      const seen = new Set();
      const chips = [];
      for (const c of cursors) {
        if (!c || typeof c !== "object" || seen.has(str(c.client_id))) continue;
        seen.add(str(c.client_id));
        const color = safeColor(c.color, "#1976d2");
        chips.push(
          h("li", { class: "nbrt-editor-person", title: str(c.name) },
            h("span", { class: "nbrt-person-dot", style: { "background-color": color }, "aria-hidden": "true" }),
            h("span", { class: "nbrt-person-name", text: str(c.name) || "Anonymous" })),
        );
      }
      replace(people, chips);
    };
    lang.textContent = languageLabel(model.get("language"));
    drawCursors();
    d.model(model, "change:language", drawLanguage);
    d.model(model, "change:cursors", drawCursors);
    d.model(model, "change:link", () => direct.follow());
    direct.follow();

    // Ask the kernel for everything this (empty) replica lacks.
    model.send({ type: "sync", state_vector: true }, undefined, [Y.encodeStateVector(doc)]);

    return () => {
      if (lastCursor && !direct.sendCursor(null, null)) model.send({ type: "cursor", anchor: null, head: null });
      d.dispose();
      view?.destroy();
      view = null;
      undoManager.destroy();
      doc.destroy();
      root.remove();
    };
  },
};

/**
 * The EditorView inside an element rendered by this module (tests, debugging).
 * @param {Element} el
 */
export function findView(el) {
  const dom = el.querySelector(".cm-editor");
  return dom ? EditorView.findFromDOM(/** @type {HTMLElement} */ (dom)) : null;
}
