// Conflict panel: base / mine / theirs side by side, resolve by choice or by an edited value.
import { h, replace } from "./lib/dom.js";
import { liveness, readOnly } from "./lib/liveness.js";
import { Disposer, getList, str } from "./lib/model.js";
import { formatValue, parseLike } from "./lib/values.js";

/**
 * @typedef {{ id: string, key: string | number, fields: string[], base: Record<string, unknown> | null,
 *   mine: Record<string, unknown>, theirs: Record<string, unknown> }} Conflict
 */

/** @param {unknown} v @returns {Record<string, unknown>} */
const obj = (v) => (v && typeof v === "object" && !Array.isArray(v) ? /** @type {Record<string, unknown>} */ (v) : {});

/**
 * All field names of a conflict, conflicting ones first.
 * @param {Conflict} c
 */
export function fieldOrder(c) {
  const conflicting = (Array.isArray(c.fields) ? c.fields : []).map(str);
  const rest = new Set([...Object.keys(obj(c.base)), ...Object.keys(obj(c.mine)), ...Object.keys(obj(c.theirs))]);
  for (const f of conflicting) rest.delete(f);
  return [...conflicting, ...rest];
}

/** @param {unknown} v */
function cell(v, cls) {
  const missing = v === undefined;
  return h("td", {
    class: ["nbrt-cell", cls, missing && "nbrt-cell--null"],
    text: missing ? "—" : formatValue(v),
    title: missing ? "not present" : undefined,
  });
}

export default {
  /** @param {{ model: import("./lib/model.js").Model, el: HTMLElement }} ctx */
  render({ model, el }) {
    const d = new Disposer();
    const heading = h("div", { class: "nbrt-conflicts-header" });
    const list = h("div", { class: "nbrt-conflict-list", role: "list" });
    const root = h("section", { class: "nbrt-root nbrt-conflicts", "aria-label": "Conflicts" }, heading, list);
    el.append(root);

    /** @type {Map<string, { json: string, card: HTMLElement }>} cards by conflict id, reused while unchanged */
    let cards = new Map();
    /** @type {Map<string, Record<string, string | boolean>>} open edit forms: conflict id → draft inputs */
    const drafts = new Map();
    /** @type {Set<string>} ids with a resolve in flight */
    const resolving = new Set();

    /** @param {Conflict} c */
    const cardEl = (c) => {
      const id = str(c.id);
      const fields = fieldOrder(c);
      const conflicting = new Set((Array.isArray(c.fields) ? c.fields : []).map(str));
      const base = c.base && typeof c.base === "object" ? obj(c.base) : null;
      const mine = obj(c.mine);
      const theirs = obj(c.theirs);
      const busy = resolving.has(id);
      const frozen = readOnly(live.state); // a choice made now could not reach the kernel: offered again when back

      const rows = fields.map((f) =>
        h("tr", { class: conflicting.has(f) ? "nbrt-conflict-field" : undefined },
          h("th", { scope: "row", class: "nbrt-field-name", text: f }),
          cell(base ? base[f] : undefined, "nbrt-base"),
          cell(mine[f], "nbrt-mine"),
          cell(theirs[f], "nbrt-theirs"),
        ),
      );
      const grid = h("table", { class: "nbrt-conflict-grid" },
        h("thead", {}, h("tr", {},
          h("th", { scope: "col", text: "Field" }),
          h("th", { scope: "col", text: "Base" }),
          h("th", { scope: "col", text: "Mine" }),
          h("th", { scope: "col", text: "Theirs" }),
        )),
        h("tbody", {}, rows),
      );

      const button = (/** @type {string} */ text, /** @type {string} */ cls, /** @type {() => void} */ fn) => {
        const b = h("button", { class: ["nbrt-button", cls], type: "button", text, disabled: busy || frozen });
        b.addEventListener("click", fn);
        return b;
      };
      const resolve = (/** @type {Record<string, unknown>} */ msg) => {
        resolving.add(id);
        drafts.delete(id);
        model.send({ type: "resolve", id: c.id, ...msg });
        draw(true);
      };
      const actions = h("div", { class: "nbrt-conflict-actions" },
        button("Keep mine", "nbrt-button--primary", () => resolve({ choice: "mine" })),
        button("Keep theirs", "", () => resolve({ choice: "theirs" })),
        button("Edit…", "nbrt-button--quiet", () => {
          /** @type {Record<string, string | boolean>} */
          const draft = {};
          for (const f of fields) {
            const v = f in mine ? mine[f] : theirs[f];
            draft[f] = typeof v === "boolean" ? v : formatValue(v);
          }
          drafts.set(id, draft);
          draw(true);
        }),
      );

      /** @type {HTMLElement | null} */
      let form = null;
      const draft = drafts.get(id);
      if (draft && !busy) {
        const inputs = fields.map((f) => {
          const sample = f in mine ? mine[f] : theirs[f];
          const isBool = typeof sample === "boolean";
          const input = h("input", {
            class: "nbrt-cell-input",
            type: isBool ? "checkbox" : "text",
            "aria-label": `Value for ${f}`,
          });
          if (isBool) input.checked = Boolean(draft[f]);
          else input.value = str(draft[f]);
          const sync = () => (draft[f] = isBool ? input.checked : input.value);
          input.addEventListener("input", sync);
          input.addEventListener("change", sync);
          const take = (/** @type {Record<string, unknown>} */ side, /** @type {string} */ label) => {
            const b = h("button", { class: "nbrt-button nbrt-button--small nbrt-button--quiet", type: "button", text: label,
              "aria-label": `Use ${label.toLowerCase()} value for ${f}` });
            b.addEventListener("click", () => {
              const v = side[f];
              if (isBool) input.checked = Boolean(v);
              else input.value = formatValue(v);
              sync();
            });
            return b;
          };
          const label = h("label", { class: ["nbrt-edit-field", conflicting.has(f) && "nbrt-conflict-field"] },
            h("span", { class: "nbrt-field-name", text: f }), input,
            conflicting.has(f) ? [take(mine, "Mine"), take(theirs, "Theirs")] : null,
          );
          return { f, input, sample, isBool, label };
        });
        const error = h("div", { class: "nbrt-form-error", role: "alert" });
        const save = () => {
          /** @type {Record<string, unknown>} */
          const value = {};
          for (const { f, input, sample, isBool } of inputs) {
            if (isBool) {
              value[f] = input.checked;
              continue;
            }
            const parsed = parseLike(input.value, sample ?? "");
            if (!parsed.ok) {
              input.setAttribute("aria-invalid", "true");
              error.textContent = `${f}: ${parsed.error}`;
              input.focus();
              return;
            }
            value[f] = parsed.value;
          }
          resolve({ choice: "value", value });
        };
        form = h("form", { class: "nbrt-conflict-edit", "aria-label": "Edit resolved value" },
          inputs.map((i) => i.label),
          error,
          h("div", { class: "nbrt-conflict-actions" },
            h("button", { class: "nbrt-button nbrt-button--primary", type: "submit", text: "Save", disabled: frozen }),
            button("Cancel", "nbrt-button--quiet", () => {
              drafts.delete(id);
              draw(true);
            }),
          ),
        );
        form.addEventListener("submit", (e) => {
          e.preventDefault();
          if (!frozen) save();
        });
        form.addEventListener("keydown", (e) => {
          if (e.key === "Escape") {
            drafts.delete(id);
            draw(true);
          }
        });
      }

      return h("article", { class: ["nbrt-conflict", busy && "nbrt-pending"], role: "listitem", "aria-busy": busy ? "true" : undefined },
        h("header", { class: "nbrt-conflict-title" },
          h("span", { text: "Row " }),
          h("code", { class: "nbrt-conflict-key", text: formatValue(c.key) }),
          h("span", { class: "nbrt-conflict-fields", text: conflicting.size ? ` · ${[...conflicting].join(", ")}` : "" }),
        ),
        grid,
        form ?? actions,
      );
    };

    /** @param {boolean} [force] rebuild every card (local state changed) */
    function draw(force = false) {
      /** @type {Conflict[]} */
      const conflicts = getList(model, "conflicts").filter((c) => c && typeof c === "object" && c.id != null);
      const ids = new Set(conflicts.map((c) => str(c.id)));
      for (const id of [...resolving]) if (!ids.has(id)) resolving.delete(id);
      for (const id of [...drafts.keys()]) if (!ids.has(id)) drafts.delete(id);

      /** @type {Map<string, { json: string, card: HTMLElement }>} */
      const next = new Map();
      const els = conflicts.map((c) => {
        const id = str(c.id);
        const json = JSON.stringify(c);
        const old = cards.get(id);
        const card = !force && old && old.json === json ? old.card : cardEl(c);
        next.set(id, { json, card });
        return card;
      });
      cards = next;
      heading.textContent = conflicts.length === 1 ? "1 conflict" : `${conflicts.length} conflicts`;
      // Nothing at all while there is nothing to settle: an empty panel under every table is noise.
      root.hidden = conflicts.length === 0;
      replace(list, els);
    }

    const live = liveness(model);
    d.add(live.subscribe(() => draw(true)));
    d.model(model, "change:conflicts", () => draw());

    return () => {
      d.dispose();
      root.remove();
    };
  },
};
