import { afterEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import editor, { CURSOR_THROTTLE_MS, findView } from "../src/editor/view.js";
import { FakeModel, injected, mount, XSS } from "./fake-model.js";

/**
 * The kernel side of the protocol, as the Python model will implement it: a Y.Doc that answers state-vector syncs,
 * applies updates from any view and echoes them to every view, and relays cursors as the `cursors` trait.
 * Messages are queued so tests decide when the "network" delivers them.
 */
class FakeKernel {
  constructor(initial = "") {
    this.doc = new Y.Doc();
    if (initial) this.doc.getText("source").insert(0, initial);
    /** @type {Array<{ model: FakeModel, content: any, buffers: any[] }>} */
    this.queue = [];
    /** @type {FakeModel[]} */
    this.models = [];
    /** @type {Map<FakeModel, any>} */
    this.cursors = new Map();
  }

  /** A model for one view, with identity for cursors. */
  model(name, color, traits = {}) {
    const model = new FakeModel({ language: "python", cursors: [], ...traits });
    model.user = { name, color, client_id: this.models.length + 1 };
    const record = model.send.bind(model);
    model.send = (content, callbacks, buffers) => {
      record(content, callbacks, buffers);
      this.queue.push({ model, content, buffers: buffers ?? [] });
    };
    this.models.push(model);
    return model;
  }

  get text() {
    return this.doc.getText("source").toString();
  }

  /** Deliver every queued message (and what they cause) until quiet. */
  flush() {
    while (this.queue.length) {
      const { model, content, buffers } = this.queue.shift();
      if (content.type === "sync") {
        const update = Y.encodeStateAsUpdate(this.doc, new Uint8Array(buffers[0]));
        model.emitCustom({ type: "update" }, [update]);
      } else if (content.type === "update") {
        Y.applyUpdate(this.doc, buffers[0], model);
        for (const m of this.models) m.emitCustom({ type: "update" }, [buffers[0]]);
      } else if (content.type === "cursor") {
        if (content.anchor) this.cursors.set(model, { ...model.user, anchor: content.anchor, head: content.head });
        else this.cursors.delete(model);
        for (const m of this.models) {
          m.set("cursors", [...this.cursors].filter(([owner]) => owner !== m).map(([, c]) => c));
        }
      }
    }
  }
}

/** @param {HTMLElement} el */
const viewOf = (el) => {
  const view = findView(el);
  if (!view) throw new Error("no editor view");
  return view;
};
const type = (el, pos, text) => viewOf(el).dispatch({ changes: { from: pos, insert: text }, userEvent: "input.type" });
const textOf = (el) => viewOf(el).state.doc.toString();
const press = (el, init) =>
  viewOf(el).contentDOM.dispatchEvent(new KeyboardEvent("keydown", { bubbles: true, cancelable: true, ...init }));

describe("editor", () => {
  afterEach(() => vi.useRealTimers());

  it("asks for the kernel's state on render and is read-only until it arrives", () => {
    const kernel = new FakeKernel("print('hi')\n");
    const model = kernel.model("Ada", "#e91e63");
    const { el } = mount(editor, model);
    expect(model.sent[0].content).toEqual({ type: "sync", state_vector: true });
    expect(model.sent[0].buffers[0]).toBeInstanceOf(Uint8Array);
    expect(viewOf(el).state.readOnly).toBe(true);
    expect(el.querySelector(".nbrt-editor--syncing")).not.toBeNull();
    kernel.flush();
    expect(textOf(el)).toBe("print('hi')\n");
    expect(viewOf(el).state.readOnly).toBe(false);
    expect(el.querySelector(".nbrt-editor--syncing")).toBeNull();
    expect(el.querySelector(".nbrt-editor-language").textContent).toBe("Python");
  });

  it("sends local edits as binary updates and answers a kernel state-vector request", () => {
    const kernel = new FakeKernel();
    const model = kernel.model("Ada", "#e91e63");
    const { el } = mount(editor, model);
    kernel.flush();
    type(el, 0, "x = 1");
    const updates = model.sent.filter((m) => m.content.type === "update");
    expect(updates).toHaveLength(1);
    expect(updates[0].buffers).toHaveLength(1);
    kernel.flush();
    expect(kernel.text).toBe("x = 1");
    // the kernel (e.g. after a restart) asks what it is missing
    const fresh = new Y.Doc();
    model.sent = [];
    model.emitCustom({ type: "sync", state_vector: true }, [Y.encodeStateVector(fresh)]);
    const [reply] = model.sent;
    expect(reply.content).toEqual({ type: "update" });
    Y.applyUpdate(fresh, reply.buffers[0]);
    expect(fresh.getText("source").toString()).toBe("x = 1");
  });

  it("two editors typing at once converge through the kernel", () => {
    const kernel = new FakeKernel("\n");
    const a = mount(editor, kernel.model("Ada", "#e91e63"));
    const b = mount(editor, kernel.model("Bob", "#3f51b5"));
    kernel.flush();
    // both type before either sees the other's edit
    type(a.el, 0, "alpha");
    type(b.el, 1, "beta");
    type(a.el, 5, " one");
    type(b.el, 5, " two");
    expect(textOf(a.el)).toBe("alpha one\n");
    expect(textOf(b.el)).toBe("\nbeta two");
    kernel.flush();
    expect(textOf(a.el)).toBe("alpha one\nbeta two");
    expect(textOf(b.el)).toBe(textOf(a.el));
    expect(kernel.text).toBe(textOf(a.el));
  });

  it("concurrent inserts at the same spot keep both texts", () => {
    const kernel = new FakeKernel("ab");
    const a = mount(editor, kernel.model("Ada", "#e91e63"));
    const b = mount(editor, kernel.model("Bob", "#3f51b5"));
    kernel.flush();
    type(a.el, 1, "XXX");
    type(b.el, 1, "YYY");
    kernel.flush();
    expect(textOf(a.el)).toBe(textOf(b.el));
    expect(textOf(a.el)).toMatch(/^a(XXXYYY|YYYXXX)b$/);
  });

  it("undo removes only this user's edits (Ctrl-Z / Shift-Ctrl-Z)", () => {
    const kernel = new FakeKernel();
    const a = mount(editor, kernel.model("Ada", "#e91e63"));
    const b = mount(editor, kernel.model("Bob", "#3f51b5"));
    kernel.flush();
    type(a.el, 0, "mine");
    kernel.flush();
    type(b.el, 4, " theirs");
    kernel.flush();
    expect(textOf(a.el)).toBe("mine theirs");

    press(a.el, { key: "z", keyCode: 90, ctrlKey: true });
    expect(textOf(a.el)).toBe(" theirs");
    kernel.flush();
    expect(textOf(b.el)).toBe(" theirs");

    // undo again has nothing of Ada's left: Bob's text stays
    press(a.el, { key: "z", keyCode: 90, ctrlKey: true });
    kernel.flush();
    expect(textOf(b.el)).toBe(" theirs");

    press(a.el, { key: "Z", keyCode: 90, ctrlKey: true, shiftKey: true }); // what a browser sends
    kernel.flush();
    expect(textOf(a.el)).toBe("mine theirs");
    expect(textOf(b.el)).toBe("mine theirs");
  });

  it("remote edits keep the local caret and selection in place", () => {
    const kernel = new FakeKernel("hello world");
    const a = mount(editor, kernel.model("Ada", "#e91e63"));
    const b = mount(editor, kernel.model("Bob", "#3f51b5"));
    kernel.flush();
    viewOf(a.el).dispatch({ selection: { anchor: 6, head: 11 } }); // "world"
    type(b.el, 0, ">> ");
    kernel.flush();
    const sel = viewOf(a.el).state.selection.main;
    expect(viewOf(a.el).state.sliceDoc(sel.from, sel.to)).toBe("world");
    expect([sel.anchor, sel.head]).toEqual([9, 14]);
  });

  it("sends its cursor as relative positions, throttled, and renders remote carets", async () => {
    vi.useFakeTimers();
    const kernel = new FakeKernel("hello world");
    const ma = kernel.model("Ada", "#e91e63");
    const mb = kernel.model("Bob", "#3f51b5");
    const a = mount(editor, ma);
    const b = mount(editor, mb);
    kernel.flush();

    for (let i = 1; i <= 5; i++) viewOf(b.el).dispatch({ selection: { anchor: i } });
    expect(mb.messages("cursor")).toHaveLength(1); // leading call
    vi.advanceTimersByTime(CURSOR_THROTTLE_MS);
    expect(mb.messages("cursor")).toHaveLength(2); // one trailing call with the latest position
    viewOf(b.el).dispatch({ selection: { anchor: 6, head: 11 } });
    vi.advanceTimersByTime(CURSOR_THROTTLE_MS);
    const last = mb.messages("cursor").at(-1);
    const doc = new Y.Doc();
    Y.applyUpdate(doc, Y.encodeStateAsUpdate(kernel.doc));
    const abs = (json) => Y.createAbsolutePositionFromRelativePosition(Y.createRelativePositionFromJSON(json), doc).index;
    expect([abs(last.anchor), abs(last.head)]).toEqual([6, 11]);

    kernel.flush();
    expect(ma.get("cursors")).toHaveLength(1);
    const caret = a.el.querySelector(".cm-ySelectionCaret");
    expect(caret).not.toBeNull();
    expect(caret.querySelector(".cm-ySelectionInfo").textContent).toBe("Bob");
    expect(a.el.querySelector(".cm-ySelection")).not.toBeNull();
    expect(a.el.querySelector(".nbrt-person-name").textContent).toBe("Bob");
    expect(b.el.querySelector(".cm-ySelectionCaret")).toBeNull(); // own cursor is not drawn as remote

    // the caret follows edits made before it
    type(a.el, 0, "__");
    kernel.flush();
    const view = viewOf(a.el);
    expect(view.state.doc.toString()).toBe("__hello world");
    expect(a.el.querySelector(".cm-ySelection").textContent).toBe("world");
  });

  it("puts a remote caret's name below the caret on the first line (above it would be cut off)", () => {
    const kernel = new FakeKernel("first line\nsecond line");
    const ma = kernel.model("Ada", "#e91e63");
    const a = mount(editor, ma);
    kernel.flush();
    const pos = (i) => Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(kernel.doc.getText("source"), i));
    ma.set("cursors", [
      { client_id: 9, name: "Bob", color: "#3f51b5", anchor: pos(3), head: pos(3) },
      { client_id: 10, name: "Cy", color: "#4caf50", anchor: pos(14), head: pos(14) },
    ]);
    const label = (name) =>
      [...a.el.querySelectorAll(".cm-ySelectionInfo")].find((e) => e.textContent === name) ?? null;
    const [bob, cy] = [label("Bob"), label("Cy")];
    expect(bob.closest(".cm-line")).toBe(viewOf(a.el).contentDOM.querySelector(".cm-line"));
    expect(cy.closest(".cm-line")).not.toBe(bob.closest(".cm-line"));
    expect(getComputedStyle(bob).top).toBe("100%");
    expect(getComputedStyle(cy).top).toBe("-1.45em");
  });

  it("keeps remote names and colours as data (XSS)", () => {
    const kernel = new FakeKernel("hello");
    const ma = kernel.model("Ada", "#e91e63");
    const a = mount(editor, ma);
    kernel.flush();
    const pos = (i) => Y.relativePositionToJSON(Y.createRelativePositionFromTypeIndex(kernel.doc.getText("source"), i));
    ma.set("cursors", [{ client_id: 9, name: XSS, color: "red; background-image: url(x)", anchor: pos(1), head: pos(3) }]);
    expect(injected()).toBe(0);
    const caret = a.el.querySelector(".cm-ySelectionCaret");
    expect(caret.querySelector(".cm-ySelectionInfo").textContent).toBe(XSS);
    expect(caret.getAttribute("style")).not.toContain("url(");
    expect(a.el.querySelector(".nbrt-person-name").textContent).toBe(XSS);
    // text typed by others is text too
    const kb = new Y.Doc();
    Y.applyUpdate(kb, Y.encodeStateAsUpdate(kernel.doc));
    kb.getText("source").insert(0, XSS);
    ma.emitCustom({ type: "update" }, [Y.encodeStateAsUpdate(kb)]);
    expect(textOf(a.el).startsWith(XSS)).toBe(true);
    expect(injected()).toBe(0);
    // malformed cursors are skipped
    const errors = vi.spyOn(console, "error");
    ma.set("cursors", [
      { client_id: 1, name: "x", color: "#000", anchor: { item: "bad" }, head: { item: "bad" } },
      { client_id: 2, name: "y", color: "#000", anchor: { type: { client: -1 } }, head: 5 },
      null,
    ]);
    expect(a.el.querySelector(".cm-ySelectionCaret")).toBeNull();
    expect(errors).not.toHaveBeenCalled();
    // …and the remote-selection plugin still works afterwards
    ma.set("cursors", [{ client_id: 3, name: "Zed", color: "#000", anchor: pos(0), head: pos(0) }]);
    expect(a.el.querySelector(".cm-ySelectionInfo").textContent).toBe("Zed");
  });

  it("switches language and cleans up", () => {
    const kernel = new FakeKernel("# Title");
    const model = kernel.model("Ada", "#e91e63", { language: "markdown" });
    const { el, cleanup } = mount(editor, model);
    kernel.flush();
    expect(el.querySelector(".nbrt-editor-language").textContent).toBe("Markdown");
    model.set("language", "python");
    expect(el.querySelector(".nbrt-editor-language").textContent).toBe("Python");
    viewOf(el).dispatch({ selection: { anchor: 2 } });
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
    expect(model.messages("cursor").at(-1)).toEqual({ type: "cursor", anchor: null, head: null });
    // updates after cleanup are ignored, nothing throws
    model.emitCustom({ type: "update" }, [Y.encodeStateAsUpdate(kernel.doc)]);
  });
});
