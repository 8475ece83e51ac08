import { describe, expect, it } from "vitest";
import { nextStamp, TableLink } from "../src/table/direct.js";
import { FakeModel } from "./fake-model.js";

const BASE = { url: "http://127.0.0.1:54321", key: "anon", token: "t1", topic: "nbrt:demo", private: false, user: "u-a" };
const COLLECTION = { ...BASE, table: "nbrt_collection_rows", key_column: "id", scope: { room: "demo", collection: "tasks" }, fields_column: "data", versioned: true };
const PLAIN = { ...BASE, table: "todos", key_column: "id", scope: {}, fields_column: null, versioned: false };

/** A PostgREST query builder that records the call and answers with `rows` (or throws). */
function fakeRest(calls, answer) {
  return () => ({
    from(table) {
      const call = { table, filters: [] };
      calls.push(call);
      const builder = {
        update(change) {
          call.change = change;
          return builder;
        },
        eq(column, value) {
          call.filters.push([column, value]);
          return builder;
        },
        async select() {
          return answer();
        },
      };
      return builder;
    },
  });
}

async function setup(info, answer = async () => ({ data: [{}], error: null }), ready = true) {
  const model = new FakeModel({ link: info });
  const calls = [];
  let redraws = 0;
  const handle = { ready, setToken() {}, leave() {}, rest: fakeRest(calls, answer) };
  const link = new TableLink(async () => ({ join: () => handle }), model, () => (redraws += 1));
  await link.follow();
  return { model, link, calls, redraws: () => redraws };
}

const ROW = {
  key: "r1",
  values: { id: "r1", title: "old", done: false },
  status: "confirmed",
  meta: { version: 7, hlc: "0001700000000000-0003-k1", write_id: "w0" },
};
const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("a live table's direct path", () => {
  it("stamps after the row's stamp and close to wall time", () => {
    expect(nextStamp("0001700000000000-0003-k1", "web", 1_600_000_000_000)).toBe("0001700000000000-0004-web");
    expect(nextStamp("0001700000000000-0003-k1", "web", 1_800_000_000_000)).toBe("0001800000000000-0000-web");
    expect(nextStamp(null, "web", 5)).toBe("0000000000000005-0000-web");
  });

  it("writes a collection row conditionally on its version, with a new version, stamp and write id", async () => {
    const { model, link, calls } = await setup(COLLECTION);
    link.edit(ROW, "title", "new");
    await flush();
    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call.table).toBe("nbrt_collection_rows");
    expect(call.change.data).toEqual({ title: "new", done: false });
    expect(call.change.version).toBeGreaterThanOrEqual(1_700_000_000_000);
    expect(call.change.hlc > ROW.meta.hlc).toBe(true);
    expect(call.filters).toEqual([["room", "demo"], ["collection", "tasks"], ["id", "r1"], ["version", 7]]);
    expect(model.messages("edit")).toEqual([]);
  });

  it("shows the edit as pending at once and until the row carries its write id", async () => {
    const { link, calls, redraws } = await setup(PLAIN);
    link.edit(ROW, "title", "new");
    expect(redraws()).toBe(1);
    expect(link.overlay([ROW])[0]).toMatchObject({ values: { title: "new" }, status: "pending" });
    await flush();
    expect(calls[0].change).toEqual({ title: "new" });
    expect(link.overlay([ROW])[0].status).toBe("pending"); // the change event has not come back yet
    const writeId = [...link.edits.values()][0].writeId;
    const landed = { ...ROW, values: { ...ROW.values, title: "new" }, meta: { ...ROW.meta, write_id: writeId } };
    expect(link.overlay([landed])[0]).toBe(landed);
    expect(link.edits.size).toBe(0);
  });

  it("hands the edit to the kernel when no row changed (moved on, or a policy) or the request failed", async () => {
    for (const answer of [async () => ({ data: [], error: null }), async () => ({ data: null, error: { code: "42501" } }), async () => { throw new TypeError("fetch failed"); }]) {
      const { model, link } = await setup(COLLECTION, answer);
      link.edit(ROW, "done", true);
      await flush();
      await flush();
      expect(model.messages("edit")).toEqual([{ type: "edit", key: "r1", column: "done", value: true }]);
      expect(link.overlay([ROW])[0].status).toBe("pending");
      // The kernel took it over: its own status for the row replaces the overlay.
      expect(link.overlay([{ ...ROW, status: "pending", values: { ...ROW.values, done: true } }])[0].status).toBe("pending");
      expect(link.edits.size).toBe(0);
    }
  });

  it("goes through the kernel while the path is down, or without a link", async () => {
    const { model, link, calls } = await setup(PLAIN, undefined, false);
    link.edit(ROW, "title", "x");
    expect(calls).toHaveLength(0);
    expect(model.messages("edit")).toHaveLength(1);

    const bare = new TableLink(async () => ({ join: () => { throw new Error("never"); } }), new FakeModel({ link: null }), () => {});
    await bare.follow();
    bare.edit(ROW, "title", "y");
    expect(bare.model.messages("edit")).toHaveLength(1);
  });
});
