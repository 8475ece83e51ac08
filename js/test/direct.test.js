import { afterEach, describe, expect, it, vi } from "vitest";
import * as Y from "yjs";
import { CELL_EVENT, CellLink, CURSOR_EVENT, FLUSH_MS, LOG_TABLE } from "../src/editor/direct.js";
import { fromBase64 } from "../src/lib/binary.js";
import { FakeModel } from "./fake-model.js";

const INFO = {
  url: "http://127.0.0.1:54321",
  key: "anon",
  token: "t1",
  topic: "nbrt:demo",
  private: false,
  user: "u-alice",
  name: "alice",
  color: "#e91e63",
  room: "demo",
  cell: "shared",
};

/** The link runtime as the view sees it: joins, sends and inserts recorded; outcomes chosen by the test. */
class FakeLinks {
  constructor() {
    this.joined = [];
    this.sent = [];
    this.inserted = [];
    this.tokens = [];
    this.left = 0;
    this.sendOk = true;
    this.insertOk = true;
    this.readyNow = true;
  }

  join(info, onMessage, onReady) {
    const links = this;
    this.joined.push(info);
    this.deliver = onMessage;
    if (this.readyNow) onReady(true);
    return {
      get ready() {
        return links.readyNow;
      },
      setToken: (token) => this.tokens.push(token),
      send: async (event, payload) => {
        this.sent.push({ event, payload });
        return this.sendOk;
      },
      insert: async (table, row) => {
        this.inserted.push({ table, row });
        return this.insertOk;
      },
      leave: () => {
        this.left += 1;
      },
    };
  }
}

function setup(traits = { link: INFO }) {
  const model = new FakeModel(traits);
  const links = new FakeLinks();
  const remote = [];
  const link = new CellLink(links, model, (u) => remote.push(u), () => {});
  link.follow();
  return { model, links, link, remote };
}

function anUpdate(text = "hi") {
  const doc = new Y.Doc();
  doc.getText("source").insert(0, text);
  return Y.encodeStateAsUpdate(doc);
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

afterEach(() => vi.useRealTimers());

describe("a shared cell's direct path to the room", () => {
  it("broadcasts a local edit itself and tells the kernel it was relayed", async () => {
    const { model, links, link } = setup();
    const update = anUpdate();
    link.sendUpdate(update);
    await settle();
    expect(links.sent).toHaveLength(1);
    expect(links.sent[0].event).toBe(CELL_EVENT);
    expect(links.sent[0].payload.sender).toBe("u-alice");
    expect(links.sent[0].payload.data.cell).toBe("shared");
    expect(fromBase64(links.sent[0].payload.data.update)).toEqual(update);
    expect(model.messages("update")).toEqual([{ type: "update", relayed: true }]);
  });

  it("hands an edit to the kernel when the server did not acknowledge it", async () => {
    const { model, links, link } = setup();
    links.sendOk = false;
    link.sendUpdate(anUpdate());
    await settle();
    expect(model.messages("update")).toEqual([{ type: "update", relayed: true }, { type: "update" }]);
    vi.useFakeTimers();
    vi.advanceTimersByTime(FLUSH_MS * 2);
    expect(links.inserted).toHaveLength(0); // the kernel persists what it was handed
  });

  it("goes through the kernel alone while the path is down", () => {
    const { model, links, link } = setup();
    links.readyNow = false;
    link.sendUpdate(anUpdate());
    expect(links.sent).toHaveLength(0);
    expect(model.messages("update")).toEqual([{ type: "update" }]);
    expect(link.sendCursor({ tname: "source" }, { tname: "source" })).toBe(false);
  });

  it("stores acknowledged edits as one log row per batch and tells the kernel", async () => {
    vi.useFakeTimers();
    const { model, links, link } = setup();
    link.sendUpdate(anUpdate("a"));
    link.sendUpdate(anUpdate("b"));
    await vi.advanceTimersByTimeAsync(FLUSH_MS + 1);
    expect(links.inserted).toHaveLength(1);
    expect(links.inserted[0].table).toBe(LOG_TABLE);
    expect(links.inserted[0].row).toMatchObject({ room: "demo", cell: "shared" });
    expect(model.messages("persisted")).toHaveLength(1);
  });

  it("hands the batch to the kernel when the backend did not store it", async () => {
    vi.useFakeTimers();
    const { model, links, link } = setup();
    links.insertOk = false;
    link.sendUpdate(anUpdate());
    await vi.advanceTimersByTimeAsync(FLUSH_MS + 1);
    expect(model.messages("persisted")).toHaveLength(0);
    expect(model.messages("update")).toEqual([{ type: "update", relayed: true }, { type: "update" }]);
  });

  it("applies other people's edits of this cell only, and ignores malformed ones", () => {
    const { links, remote } = setup();
    const update = anUpdate();
    const b64 = btoa(String.fromCharCode(...update));
    links.deliver(CELL_EVENT, { sender: "u-bob", data: { cell: "shared", update: b64 } });
    links.deliver(CELL_EVENT, { sender: "u-bob", data: { cell: "other", update: b64 } });
    links.deliver(CELL_EVENT, { sender: "u-bob", data: { cell: "shared", update: "%%%" } });
    links.deliver(CELL_EVENT, null);
    links.deliver("hello", { sender: "u-bob", data: { cell: "shared", update: b64 } });
    expect(remote).toEqual([update]);
  });

  it("shares the caret directly with name and colour", () => {
    const { links, link } = setup();
    expect(link.sendCursor({ tname: "source" }, null)).toBe(true);
    expect(links.sent[0]).toEqual({
      event: CURSOR_EVENT,
      payload: { sender: "u-alice", data: { cell: "shared", anchor: { tname: "source" }, head: null, name: "alice", color: "#e91e63" } },
    });
  });

  it("follows the link trait: a new token is handed on, a closed room leaves, no runtime means kernel only", () => {
    const { model, links, link } = setup();
    model.set("link", { ...INFO, token: "t2" });
    link.follow();
    expect(links.tokens).toEqual(["t2"]);
    expect(links.joined).toHaveLength(1);
    model.set("link", null);
    link.follow();
    expect(links.left).toBe(1);
    expect(link.ready).toBe(false);

    const kernelOnly = new CellLink(undefined, new FakeModel({ link: INFO }), () => {}, () => {});
    kernelOnly.follow();
    expect(kernelOnly.ready).toBe(false);
  });
});
