import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import table from "../src/table.js";
import { FakeModel, injected, mount, XSS } from "./fake-model.js";

const rows = () => [
  { key: "r1", values: { id: "r1", name: "Apple", qty: 3, done: false, meta: { a: 1 } }, status: "confirmed", error: null },
  { key: "r2", values: { id: "r2", name: "Pear", qty: 5, done: true, meta: null }, status: "pending", error: null },
  { key: "r3", values: { id: "r3", name: "Plum", qty: 1, done: false, meta: null }, status: "failed", error: "permission denied" },
];
const traits = (over = {}) => ({ columns: ["id", "name", "qty", "done", "meta"], key: "id", rows: rows(), editable: true, ...over });
const trs = (el) => [...el.querySelectorAll("tbody tr.nbrt-row")];
const cell = (el, r, c) => trs(el)[r].querySelectorAll("td")[c];
const dbl = (node) => node.dispatchEvent(new MouseEvent("dblclick", { bubbles: true }));
const key = (node, k) => node.dispatchEvent(new KeyboardEvent("keydown", { key: k, bubbles: true }));

describe("table", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("renders columns, values (objects as JSON), and row states", () => {
    const model = new FakeModel(traits());
    const { el } = mount(table, model);
    expect([...el.querySelectorAll("thead th")].slice(0, 5).map((th) => th.textContent)).toEqual(["id", "name", "qty", "done", "meta"]);
    expect(cell(el, 0, 1).textContent).toBe("Apple");
    expect(cell(el, 0, 2).classList.contains("nbrt-cell--num")).toBe(true);
    expect(cell(el, 0, 4).textContent).toBe('{"a":1}');
    expect(cell(el, 1, 3).querySelector("input[type=checkbox]").checked).toBe(true);
    expect(trs(el)[1].classList.contains("nbrt-row--pending")).toBe(true);
    expect(trs(el)[1].querySelector(".nbrt-chip--pending").textContent).toBe("pending");
    expect(trs(el)[2].classList.contains("nbrt-row--failed")).toBe(true);
    // the whole error on its own line under the failed row, not cut off in the status cell
    const line = trs(el)[2].nextElementSibling;
    expect(line.classList.contains("nbrt-row-error-line")).toBe(true);
    expect(line.querySelector(".nbrt-row-error").textContent).toBe("permission denied");
    expect(line.querySelector("td").getAttribute("colspan")).toBe("6");
  });

  it("failed rows offer Retry and Discard; rows can be deleted", () => {
    const model = new FakeModel(traits());
    const { el } = mount(table, model);
    const buttons = [...trs(el)[2].querySelectorAll("button")];
    buttons.find((b) => b.textContent === "Retry").click();
    buttons.find((b) => b.textContent === "Discard").click();
    trs(el)[0].querySelector(".nbrt-row-delete").click();
    expect(model.sent.map((m) => m.content)).toEqual([
      { type: "retry", key: "r3" },
      { type: "discard", key: "r3" },
      { type: "delete", key: "r1" },
    ]);
  });

  it("flashes rows whose values changed, not on first render", () => {
    const model = new FakeModel(traits());
    const { el } = mount(table, model);
    expect(el.querySelectorAll(".nbrt-flash")).toHaveLength(0);
    const next = rows();
    next[1].values.qty = 6;
    next[1].status = "confirmed";
    model.set("rows", next);
    expect(trs(el).map((tr) => tr.classList.contains("nbrt-flash"))).toEqual([false, true, false]);
    expect(trs(el)[1].classList.contains("nbrt-row--pending")).toBe(false);
    vi.advanceTimersByTime(2000);
    expect(el.querySelectorAll(".nbrt-flash")).toHaveLength(0);
    model.set("rows", [...next, { key: "r4", values: { id: "r4", name: "Fig" }, status: "confirmed", error: null }]);
    expect(trs(el)[3].classList.contains("nbrt-flash")).toBe(true);
  });

  it("edits inline: Enter commits with number parsing, Escape cancels", () => {
    const model = new FakeModel(traits());
    const { el } = mount(table, model);
    dbl(cell(el, 0, 2));
    let input = cell(el, 0, 2).querySelector("input");
    expect(input.value).toBe("3");
    input.value = "42";
    key(input, "Enter");
    expect(model.messages("edit")).toEqual([{ type: "edit", key: "r1", column: "qty", value: 42 }]);
    expect(cell(el, 0, 2).querySelector("input")).toBeNull();

    dbl(cell(el, 0, 1));
    input = cell(el, 0, 1).querySelector("input");
    input.value = "Banana";
    key(input, "Escape");
    expect(model.messages("edit")).toHaveLength(1);
    expect(cell(el, 0, 1).textContent).toBe("Apple");

    // invalid number stays open and is flagged
    dbl(cell(el, 0, 2));
    input = cell(el, 0, 2).querySelector("input");
    input.value = "lots";
    key(input, "Enter");
    expect(model.messages("edit")).toHaveLength(1);
    expect(input.getAttribute("aria-invalid")).toBe("true");
    key(input, "Escape");

    // strings stay strings, unchanged values send nothing
    dbl(cell(el, 0, 1));
    input = cell(el, 0, 1).querySelector("input");
    key(input, "Enter");
    expect(model.messages("edit")).toHaveLength(1);
    dbl(cell(el, 0, 1));
    input = cell(el, 0, 1).querySelector("input");
    input.value = "12";
    key(input, "Enter");
    expect(model.messages("edit").at(-1)).toEqual({ type: "edit", key: "r1", column: "name", value: "12" });
  });

  it("booleans are enabled checkboxes that one click toggles; the key column is not editable", () => {
    const model = new FakeModel(traits());
    const { el } = mount(table, model);
    const box = cell(el, 0, 3).querySelector("input[type=checkbox]");
    expect(box.disabled).toBe(false);
    box.click(); // one click: toggles and fires change, no double click into an editor first
    expect(model.messages("edit")).toEqual([{ type: "edit", key: "r1", column: "done", value: true }]);
    dbl(cell(el, 0, 0));
    expect(cell(el, 0, 0).querySelector("input")).toBeNull();
  });

  it("keeps an open editor and its draft across a remote update", () => {
    const model = new FakeModel(traits());
    const { el } = mount(table, model);
    dbl(cell(el, 0, 1));
    const input = cell(el, 0, 1).querySelector("input");
    input.value = "Apricot";
    const next = rows();
    next[2].values.name = "Prune";
    model.set("rows", next);
    expect(cell(el, 0, 1).querySelector("input")).toBe(input);
    expect(cell(el, 2, 1).textContent).toBe("Prune");
    key(input, "Enter");
    expect(model.messages("edit")).toEqual([{ type: "edit", key: "r1", column: "name", value: "Apricot" }]);
  });

  it("adds rows with values typed like their column", () => {
    const model = new FakeModel(traits());
    const { el } = mount(table, model);
    el.querySelector(".nbrt-add").click();
    const inputs = [...el.querySelectorAll("tfoot input")];
    expect(inputs).toHaveLength(5);
    inputs[1].value = "Kiwi";
    inputs[2].value = "7";
    inputs[3].click();
    key(inputs[1], "Enter");
    expect(model.messages("insert")).toEqual([{ type: "insert", values: { name: "Kiwi", qty: 7, done: true } }]);
    expect(el.querySelector("tfoot input")).toBeNull();
  });

  it("read-only tables have no editing affordances", () => {
    const model = new FakeModel(traits({ editable: false }));
    const { el } = mount(table, model);
    dbl(cell(el, 0, 1));
    expect(el.querySelector("input.nbrt-cell-input")).toBeNull();
    expect(el.querySelector("input[type=checkbox]")).toBeNull(); // a full-contrast mark, not a greyed-out box
    expect([...el.querySelectorAll(".nbrt-bool")].map((b) => b.getAttribute("aria-label"))).toEqual(["false", "true", "false"]);
    expect(el.querySelector(".nbrt-row-delete")).toBeNull();
    expect(el.querySelector(".nbrt-add")).toBeNull();
    model.set("editable", true);
    expect(el.querySelector(".nbrt-add")).not.toBeNull();
  });

  it("a table read-only for this user says why above it, as text; the room's own state takes precedence", () => {
    const reason = `You are a viewer in room "r": ask an owner to make you an editor. ${XSS}`;
    const model = new FakeModel(traits({ editable: false, read_only: reason, room_status: "connected" }));
    const { el } = mount(table, model);
    const banner = el.querySelector(".nbrt-notice");
    expect(banner.hidden).toBe(false);
    expect(banner.textContent).toBe(reason);
    expect(banner.classList.contains("nbrt-notice--read-only")).toBe(true);
    expect(injected()).toBe(0);
    expect(banner.nextElementSibling.matches("table.nbrt-table")).toBe(true); // above the table
    model.set("room_status", "closed");
    expect(banner.textContent).toContain("This room is closed");
    expect(banner.classList.contains("nbrt-notice--closed")).toBe(true);
    model.set("room_status", "connected");
    model.set("read_only", null); // promoted to editor
    model.set("editable", true);
    expect(banner.hidden).toBe(true);
    expect(banner.textContent).toBe("");
    expect(el.querySelector(".nbrt-add")).not.toBeNull();
  });

  it("shows an empty state", () => {
    const model = new FakeModel(traits({ rows: [] }));
    const { el } = mount(table, model);
    expect(el.querySelector(".nbrt-empty").textContent).toBe("No rows");
  });

  it("keeps column names, values, keys and errors as text (XSS)", () => {
    const model = new FakeModel({
      columns: ["id", XSS],
      key: "id",
      rows: [{ key: XSS, values: { id: XSS, [XSS]: XSS }, status: "failed", error: XSS }],
      editable: true,
    });
    const { el } = mount(table, model);
    expect(injected()).toBe(0);
    expect(el.querySelector("thead th:nth-child(2)").textContent).toBe(XSS);
    expect(cell(el, 0, 1).textContent).toBe(XSS);
    expect(el.querySelector(".nbrt-row-error").textContent).toBe(XSS);
    dbl(cell(el, 0, 1));
    expect(cell(el, 0, 1).querySelector("input").value).toBe(XSS);
    expect(injected()).toBe(0);
  });

  it("keeps the status cell (error, Retry, Discard, delete) unclipped and pinned to the right edge", () => {
    // Layout is not computed in jsdom: check the stylesheet the bundle ships. The generic cell rule caps widths at
    // 320 px with overflow hidden, which cut off Discard and the delete button behind a long error.
    const css = readFileSync(join(import.meta.dirname, "..", "src", "styles", "table.css"), "utf8");
    const rule = /\.nbrt-table \.nbrt-row-status \{([^}]*)\}/.exec(css)?.[1] ?? "";
    for (const decl of ["max-width: none", "overflow: visible", "position: sticky", "right: 0"]) {
      expect(rule).toContain(decl);
    }
    // opaque (scrolled cells do not show through) in the notebook's own colour (no lighter strip in dark themes)
    expect(rule).toMatch(/background-color: var\(--nbrt-surface\)/);
  });

  it("cleanup removes listeners and DOM", () => {
    const model = new FakeModel(traits());
    const { el, cleanup } = mount(table, model);
    model.set("rows", rows().slice(0, 1));
    cleanup();
    expect(model.listenerCount()).toBe(0);
    expect(el.children).toHaveLength(0);
    expect(vi.getTimerCount()).toBe(0);
  });
});
