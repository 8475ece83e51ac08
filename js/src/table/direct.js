// A live table's direct path: an inline edit shows as pending at once and is written by the page itself, with the
// user's own token, as the kernel would write it — conditional on the version the row had (`version=eq.N`), with a
// new version, an HLC stamp and a write id — so it lands even while the kernel is busy running a cell. The kernel
// learns of it from the change feed like any other change. Whatever the page cannot settle alone (the path is down,
// the row moved on meanwhile, a policy or the network refused it) goes to the kernel as a plain `edit`, whose outbox
// and conflict strategy take it from there: nothing typed is dropped.

import { TraitLink } from "../lib/trait-link.js";

/**
 * What the kernel hands the view (the `link` trait): the room's link plus how this table's rows are stored.
 * @typedef {import("../link/index.js").LinkInfo & {
 *   table: string, key_column: string, scope: Record<string, unknown>, fields_column: string | null, versioned: boolean
 * }} TableLinkInfo
 * @typedef {{ key: unknown, values: Record<string, unknown>, status?: string, meta?: { version?: number | null,
 *   hlc?: string | null, write_id?: string | null } }} Row
 * @typedef {{ column: string, value: unknown, writeId: string, handed: boolean }} Edit
 */

export const PHYSICAL_DIGITS = 16;
export const LOGICAL_DIGITS = 4;
const STAMP = /^(\d{16})-([0-9a-f]{4})-(.+)$/;

/**
 * An HLC stamp that sorts after `seen` (the row's stamp) and is close to wall time, in the kernels' encoding
 * (`sync/clock.py`).
 * @param {unknown} seen @param {string} node @param {number} [now]
 */
export function nextStamp(seen, node, now = Date.now()) {
  let physical = now;
  let logical = 0;
  const match = typeof seen === "string" ? STAMP.exec(seen) : null;
  if (match) {
    const seenPhysical = Number(match[1]);
    if (seenPhysical >= physical) {
      physical = seenPhysical;
      logical = parseInt(match[2], 16) + 1;
    }
  }
  return `${String(physical).padStart(PHYSICAL_DIGITS, "0")}-${logical.toString(16).padStart(LOGICAL_DIGITS, "0")}-${node}`;
}

export class TableLink extends TraitLink {
  /**
   * @param {() => Promise<{ join: typeof import("../link/index.js").join }>} loadLinks the link runtime, loaded on demand
   * @param {import("../lib/model.js").Model} model
   * @param {() => void} onChange the pending overlay changed: redraw
   */
  constructor(loadLinks, model, onChange) {
    super(loadLinks, model);
    this.onChange = onChange;
    /** @type {Map<string, Edit>} */
    this.edits = new Map();
    this.node = `web-${Math.random().toString(36).slice(2, 10)}`;
  }

  /**
   * An inline edit of `column` to `value` on `row`.
   * @param {Row} row @param {string} column @param {unknown} value
   */
  edit(row, column, value) {
    const key = String(row.key);
    const writeId = crypto.randomUUID();
    this.edits.set(key, { column, value, writeId, handed: false });
    this.onChange();
    const info = this.info;
    if (!this.handle?.ready || !info) {
      this.handToKernel(key, row.key);
      return;
    }
    this.write(info, row, column, value, writeId).then((ok) => {
      if (!ok) this.handToKernel(key, row.key);
    });
  }

  /** @param {string} key @param {unknown} rawKey */
  handToKernel(key, rawKey) {
    const edit = this.edits.get(key);
    if (!edit) return;
    edit.handed = true;
    this.model.send({ type: "edit", key: rawKey, column: edit.column, value: edit.value });
  }

  /**
   * The conditional write, as `features/table_backend.py` makes it; true when the row was changed.
   * @param {TableLinkInfo} info @param {Row} row @param {string} column @param {unknown} value @param {string} writeId
   */
  async write(info, row, column, value, writeId) {
    const meta = row.meta ?? {};
    if (!this.handle) return false;
    const change = info.fields_column
      ? { [info.fields_column]: { ...withoutBookkeeping(row.values, info.key_column), [column]: value } }
      : { [column]: value };
    if (info.versioned) {
      const stamp = nextStamp(meta.hlc, this.node);
      const physical = Number(stamp.slice(0, PHYSICAL_DIGITS));
      Object.assign(change, { version: Math.max((meta.version ?? 0) + 1, physical), hlc: stamp, write_id: writeId });
    }
    let query = this.handle.rest().from(info.table).update(change);
    for (const [name, scoped] of Object.entries(info.scope ?? {})) query = query.eq(name, scoped);
    query = query.eq(info.key_column, row.key);
    if (info.versioned && meta.version != null) query = query.eq("version", meta.version);
    try {
      const { data, error } = await query.select();
      return !error && Array.isArray(data) && data.length === 1;
    } catch {
      return false;
    }
  }

  /**
   * The rows to show: the model's, with edits not yet visible there laid over them as pending. An edit leaves the
   * overlay when the model's row carries its write id (it landed), or once the kernel took it over and shows the
   * row's own status for it.
   * @param {Row[]} rows
   * @returns {Row[]}
   */
  overlay(rows) {
    if (!this.edits.size) return rows;
    return rows.map((row) => {
      const key = String(row.key);
      const edit = this.edits.get(key);
      if (!edit) return row;
      const landed = row.meta?.write_id === edit.writeId;
      const takenOver = edit.handed && (row.status !== "confirmed" || sameJSON(row.values?.[edit.column], edit.value));
      if (landed || takenOver) {
        this.edits.delete(key);
        return row;
      }
      return { ...row, values: { ...row.values, [edit.column]: edit.value }, status: "pending" };
    });
  }

}

/** @param {Record<string, unknown> | undefined} values @param {string} key */
function withoutBookkeeping(values, key) {
  const { [key]: _key, version: _v, hlc: _h, write_id: _w, ...fields } = values ?? {};
  return fields;
}

/** @param {unknown} a @param {unknown} b */
const sameJSON = (a, b) => JSON.stringify(a) === JSON.stringify(b);
