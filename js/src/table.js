// Live table: optimistic rows (pending / failed), flash on remote change, inline editing.
import link from "runtime:link";
import { h, icon, replace, srOnly } from "./lib/dom.js";
import { liveness, notice, readOnly } from "./lib/liveness.js";
import { Disposer, getList, str } from "./lib/model.js";
import { loadRuntime } from "./lib/runtime.js";
import { formatValue, parseLike, sameValue } from "./lib/values.js";
import { TableLink } from "./table/direct.js";

/**
 * @typedef {{ key: string | number, values: Record<string, unknown>, status: "confirmed" | "pending" | "failed",
 *   error: string | null }} Row
 * @typedef {{ key: string, column: string, original: unknown, input: HTMLInputElement, td: HTMLTableCellElement }} Editing
 */

export const FLASH_MS = 1200;

/**
 * The kind of value a column holds, judged from its non-null values.
 * @param {Row[]} rows
 * @param {string} column
 * @returns {"number" | "boolean" | "object" | "string"}
 */
export function columnKind(rows, column) {
  for (const r of rows) {
    const v = r.values?.[column];
    if (v === null || v === undefined) continue;
    if (typeof v === "number") return "number";
    if (typeof v === "boolean") return "boolean";
    if (typeof v === "object") return "object";
    return "string";
  }
  return "string";
}

/** @param {"number" | "boolean" | "object" | "string"} kind */
function sampleOf(kind) {
  return kind === "number" ? 0 : kind === "boolean" ? false : kind === "object" ? {} : "";
}

/**
 * A cell's content. A boolean is a checkbox that one click toggles (`onToggle`), or, where the table cannot be
 * edited, a mark drawn at full contrast (a disabled checkbox would be greyed out like something broken).
 * @param {unknown} value
 * @param {((checked: boolean) => void) | null} onToggle
 */
function valueNode(value, onToggle) {
  if (typeof value !== "boolean") return formatValue(value);
  if (!onToggle) {
    return h("span", { class: ["nbrt-bool", value && "nbrt-bool--true"], role: "img", "aria-label": String(value), text: value ? "✓" : "" });
  }
  const box = h("input", { class: "nbrt-bool-input", type: "checkbox", "aria-label": String(value) });
  box.checked = value;
  box.addEventListener("change", () => onToggle(box.checked));
  return box;
}

export default {
  /** @param {{ model: import("./lib/model.js").Model, el: HTMLElement }} ctx */
  render({ model, el }) {
    const d = new Disposer();
    const thead = h("thead");
    const tbody = h("tbody");
    const tfoot = h("tfoot");
    const table = h("table", { class: "nbrt-table" }, thead, tbody, tfoot);
    const banner = h("div", { class: "nbrt-notice", role: "status", hidden: true });
    const root = h("div", { class: "nbrt-root nbrt-table-wrap" }, banner, table);
    el.append(root);
    const live = liveness(model);
    /** @type {Map<string, number>} the widest each column has been: columns grow, never shrink, between updates */
    const widths = new Map();

    /** @type {Map<string, string>} key → JSON of values at the previous render */
    let previous = new Map();
    let firstRender = true;
    /** @type {Editing | null} */
    let editing = null;
    /** @type {HTMLTableRowElement | null} */
    let addRow = null;
    /** @type {Map<string, unknown>} draft values of the add-row form */
    const addDraft = new Map();
    let rebuilding = false;
    /** @type {Set<ReturnType<typeof setTimeout>>} */
    const flashTimers = new Set();
    d.add(() => flashTimers.forEach(clearTimeout));

    const columns = () => getList(model, "columns").map(str);
    const keyColumn = () => str(model.get("key"));
    const editable = () => Boolean(model.get("editable"));
    /** @returns {Row[]} */
    const modelRows = () => getList(model, "rows").filter((r) => r && typeof r === "object" && r.key != null);
    // Inline edits go to the backend from the page itself (table/direct.js): pending at once, busy kernel or not.
    const direct = new TableLink(() => loadRuntime("link", link.source, link.hash), model, () => draw());
    d.add(() => direct.close());
    const rows = () => direct.overlay(modelRows());
    /** @param {string} key @param {string} column @param {unknown} value */
    const editCell = (key, column, value) => {
      const row = modelRows().find((r) => str(r.key) === key);
      if (row) direct.edit(row, column, value);
    };

    /** @param {HTMLElement} node */
    const flash = (node) => {
      node.classList.remove("nbrt-flash");
      void node.offsetWidth; // restart the animation
      node.classList.add("nbrt-flash");
      const t = setTimeout(() => {
        node.classList.remove("nbrt-flash");
        flashTimers.delete(t);
      }, FLASH_MS);
      flashTimers.add(t);
    };

    /** @param {boolean} commit */
    const stopEditing = (commit) => {
      const ed = editing;
      if (!ed) return;
      if (commit && readOnly(live.state)) return; // nowhere to send it: the draft stays in the cell, shown
      editing = null;
      if (commit) {
        const raw = ed.input.type === "checkbox" ? String(ed.input.checked) : ed.input.value;
        const parsed = parseLike(raw, ed.original);
        if (!parsed.ok) {
          editing = ed;
          ed.input.setAttribute("aria-invalid", "true");
          ed.input.title = parsed.error;
          return;
        }
        if (!sameValue(parsed.value, ed.original)) {
          editCell(ed.key, ed.column, parsed.value);
        }
      }
      draw();
    };

    /**
     * @param {HTMLTableCellElement} td
     * @param {Row} row
     * @param {string} column
     */
    const startEditing = (td, row, column) => {
      if (editing) stopEditing(true);
      if (editing) return; // the open editor holds an invalid value
      const original = row.values?.[column] ?? null;
      const isBool = typeof original === "boolean";
      const input = h("input", {
        class: "nbrt-cell-input",
        type: isBool ? "checkbox" : "text",
        "aria-label": `Edit ${column}`,
        inputmode: typeof original === "number" ? "decimal" : undefined,
      });
      if (isBool) input.checked = /** @type {boolean} */ (original);
      else input.value = formatValue(original);
      editing = { key: str(row.key), column, original, input, td };
      input.addEventListener("keydown", (e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          stopEditing(true);
        } else if (e.key === "Escape") {
          e.preventDefault();
          stopEditing(false);
        }
      });
      if (isBool) input.addEventListener("change", () => stopEditing(true));
      input.addEventListener("blur", () => {
        if (!rebuilding && editing?.input === input) stopEditing(true);
      });
      td.classList.add("nbrt-cell--editing");
      replace(td, input);
      input.focus();
      if (!isBool) input.select();
    };

    /**
     * @param {Row} row
     * @param {string[]} cols
     * @param {string} keyCol
     * @param {boolean} canEdit
     */
    const rowEl = (row, cols, keyCol, canEdit) => {
      const key = str(row.key);
      const status = row.status === "pending" || row.status === "failed" ? row.status : "confirmed";
      const tr = h("tr", { class: ["nbrt-row", `nbrt-row--${status}`], "aria-busy": status === "pending" ? "true" : undefined });
      for (const col of cols) {
        if (editing && editing.key === key && editing.column === col) {
          tr.append(editing.td);
          continue;
        }
        const value = row.values?.[col];
        const td = h("td", {
          class: ["nbrt-cell", typeof value === "number" && "nbrt-cell--num", (value === null || value === undefined) && "nbrt-cell--null",
            col === keyCol && "nbrt-cell--key"],
          title: typeof value === "object" && value !== null ? formatValue(value) : undefined,
        }, valueNode(value, canEdit && col !== keyCol ? (checked) => editCell(key, col, checked) : null));
        if (canEdit && col !== keyCol && typeof value !== "boolean") {
          td.classList.add("nbrt-cell--editable");
          td.addEventListener("dblclick", () => startEditing(td, row, col));
        }
        tr.append(td);
      }
      const statusCell = h("td", { class: "nbrt-row-status" });
      if (status === "pending") statusCell.append(h("span", { class: "nbrt-chip nbrt-chip--pending", text: "pending" }));
      if (status === "failed") {
        const retry = h("button", { class: "nbrt-button nbrt-button--small", type: "button", text: "Retry" });
        retry.addEventListener("click", () => model.send({ type: "retry", key: row.key }));
        const discard = h("button", { class: "nbrt-button nbrt-button--small nbrt-button--quiet", type: "button", text: "Discard" });
        discard.addEventListener("click", () => model.send({ type: "discard", key: row.key }));
        statusCell.append(retry, discard);
      }
      if (canEdit) {
        const del = h("button", {
          class: "nbrt-icon-button nbrt-row-delete",
          type: "button",
          title: "Delete row",
          "aria-label": `Delete row ${key}`,
        });
        del.append(icon("trash"));
        del.addEventListener("click", () => model.send({ type: "delete", key: row.key }));
        statusCell.append(del);
      }
      tr.append(statusCell);
      if (status !== "failed") return [tr];
      // The whole error, wrapped on a line of its own under the row: never cut off, never only in a tooltip.
      const line = h("tr", { class: "nbrt-row-error-line" },
        h("td", { colspan: String(cols.length + 1) },
          h("span", { class: "nbrt-row-error", role: "alert", text: str(row.error) || "Write failed" })));
      return [tr, line];
    };

    /**
     * The add-row form.
     * @param {string[]} cols
     * @param {Row[]} all
     */
    const addRowEl = (cols, all) => {
      const tr = h("tr", { class: "nbrt-add-row" });
      /** @type {Array<[string, HTMLInputElement, "number" | "boolean" | "object" | "string"]>} */
      const inputs = [];
      for (const col of cols) {
        const kind = columnKind(all, col);
        const input = h("input", {
          class: "nbrt-cell-input",
          type: kind === "boolean" ? "checkbox" : "text",
          placeholder: kind === "boolean" ? undefined : col,
          "aria-label": `New ${col}`,
        });
        const draft = addDraft.get(col);
        if (kind === "boolean") input.checked = Boolean(draft);
        else if (draft !== undefined) input.value = String(draft);
        input.addEventListener("input", () => addDraft.set(col, kind === "boolean" ? input.checked : input.value));
        input.addEventListener("change", () => addDraft.set(col, kind === "boolean" ? input.checked : input.value));
        inputs.push([col, input, kind]);
        tr.append(h("td", { class: "nbrt-cell" }, input));
      }
      const submit = () => {
        /** @type {Record<string, unknown>} */
        const values = {};
        for (const [col, input, kind] of inputs) {
          if (kind === "boolean") {
            values[col] = input.checked;
            continue;
          }
          if (input.value === "") continue;
          const parsed = parseLike(input.value, sampleOf(kind));
          if (!parsed.ok) {
            input.setAttribute("aria-invalid", "true");
            input.title = parsed.error;
            input.focus();
            return;
          }
          values[col] = parsed.value;
        }
        model.send({ type: "insert", values });
        closeAdd();
      };
      const save = h("button", { class: "nbrt-button nbrt-button--small nbrt-button--primary", type: "button", text: "Add" });
      save.addEventListener("click", submit);
      const cancel = h("button", { class: "nbrt-button nbrt-button--small nbrt-button--quiet", type: "button", text: "Cancel" });
      cancel.addEventListener("click", () => closeAdd());
      tr.addEventListener("keydown", (e) => {
        if (e.key === "Enter") {
          e.preventDefault();
          submit();
        } else if (e.key === "Escape") {
          e.preventDefault();
          closeAdd();
        }
      });
      tr.append(h("td", { class: "nbrt-row-status" }, save, cancel));
      return tr;
    };

    const openAdd = () => {
      addRow = addRowEl(columns(), rows());
      draw();
      addRow.querySelector("input")?.focus();
    };
    const closeAdd = () => {
      addRow = null;
      addDraft.clear();
      draw();
    };

    /** Columns only ever widen: a value, a pending chip or an edit box that comes and goes does not shift them. */
    function keepWidths() {
      for (const th of thead.querySelectorAll("th")) {
        const name = th.classList.contains("nbrt-row-status") ? "\u0000status" : str(th.textContent);
        const width = Math.max(widths.get(name) ?? 0, th.offsetWidth); // whole pixels: re-measuring never creeps
        widths.set(name, width);
        if (width > 0) th.style.minWidth = `${width}px`;
      }
    }

    function draw() {
      const cols = columns();
      const keyCol = keyColumn();
      const frozen = readOnly(live.state);
      const canEdit = editable() && !frozen;
      const all = rows();
      if (!editable()) {
        editing = null;
        addRow = null;
      }
      // Read-only because the room closed or the kernel went quiet: what is being typed stays, unsendable, in view.
      for (const input of [editing?.input, ...(addRow?.querySelectorAll("input, button") ?? [])]) {
        if (input instanceof HTMLInputElement) input.readOnly = frozen;
        if (input instanceof HTMLButtonElement || (input instanceof HTMLInputElement && input.type === "checkbox")) input.disabled = frozen;
      }
      // The room's state first (it concerns everyone); else why this user may not edit (a viewer), from the kernel.
      const refusal = str(model.get("read_only"));
      const shown = notice(live.state) || refusal;
      banner.textContent = shown;
      banner.hidden = !shown;
      banner.className = `nbrt-notice nbrt-notice--${live.state === "live" && refusal ? "read-only" : live.state}`;
      root.classList.toggle("nbrt-table-wrap--readonly", frozen);
      const focused = editing && document.activeElement === editing.input;
      const selection = editing && !focused ? null : editing ? [editing.input.selectionStart, editing.input.selectionEnd] : null;
      rebuilding = true;
      try {
        replace(
          thead,
          h("tr", {},
            cols.map((c) => h("th", { scope: "col", class: c === keyCol ? "nbrt-cell--key" : undefined, text: c })),
            h("th", { scope: "col", class: "nbrt-row-status" }, srOnly("Status")),
          ),
        );
        /** @type {Map<string, string>} */
        const current = new Map();
        const trs = all.map((row) => {
          const key = str(row.key);
          const json = JSON.stringify(row.values ?? {});
          current.set(key, json);
          const lines = rowEl(row, cols, keyCol, canEdit);
          if (!firstRender && previous.get(key) !== json) flash(lines[0]);
          return lines;
        }).flat();
        if (editing && !current.has(editing.key)) editing = null;
        if (!trs.length) {
          trs.push(h("tr", { class: "nbrt-empty-row" }, h("td", { class: "nbrt-empty", colspan: String(cols.length + 1), text: "No rows" })));
        }
        replace(tbody, trs);
        previous = current;
        firstRender = false;

        if (addRow) replace(tfoot, addRow);
        else if (canEdit) {
          const add = h("button", { class: "nbrt-button nbrt-button--link nbrt-add", type: "button" }, icon("plus"), "Add row");
          add.addEventListener("click", openAdd);
          replace(tfoot, h("tr", {}, h("td", { colspan: String(cols.length + 1) }, add)));
        } else replace(tfoot);
        keepWidths();
      } finally {
        rebuilding = false;
      }
      if (editing && focused) {
        editing.input.focus();
        if (selection && editing.input.type === "text") editing.input.setSelectionRange(selection[0], selection[1]);
      }
    }

    d.add(live.subscribe(() => draw()));
    for (const t of ["columns", "key", "rows", "editable", "read_only"]) d.model(model, `change:${t}`, draw);
    d.model(model, "change:link", () => direct.follow());
    direct.follow();

    return () => {
      d.dispose();
      root.remove();
    };
  },
};
