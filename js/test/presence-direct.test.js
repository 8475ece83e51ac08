import { describe, expect, it } from "vitest";
import { ACTIVITY_EVENT, PresenceLink } from "../src/presence/direct.js";
import { FakeModel } from "./fake-model.js";

const INFO = { url: "http://127.0.0.1:54321", key: "anon", token: "t1", topic: "nbrt:demo", private: true, user: "u-a" };
const ME = { id: "u-a", name: "alice", color: "#e91e63", status: "online", cell: "cell 4", activity: "reading", is_self: true };

async function setup(ready = true) {
  const sent = [];
  const handle = { ready, setToken() {}, leave() {}, send: async (event, payload) => sent.push({ event, payload }) };
  const model = new FakeModel({ link: INFO, members: [{ ...ME, id: "u-b", name: "bob", is_self: false }, ME] });
  const direct = new PresenceLink(async () => ({ join: () => handle }), model);
  await direct.follow();
  return { direct, sent };
}

describe("presence's direct path", () => {
  it("broadcasts this user's whole state with the new status, as the kernel would", async () => {
    const { direct, sent } = await setup();
    expect(direct.report(true)).toBe(true);
    expect(sent).toHaveLength(1);
    expect(sent[0].event).toBe(ACTIVITY_EVENT);
    expect(sent[0].payload.sender).toBe("u-a");
    expect(sent[0].payload.data).toMatchObject({ name: "alice", color: "#e91e63", cell: "cell 4", activity: "reading", status: "away" });
    expect(Date.parse(sent[0].payload.data.updated_at)).not.toBeNaN();
    direct.report(false);
    expect(sent[1].payload.data.status).toBe("online");
  });

  it("leaves it to the kernel while its channel is not joined", async () => {
    const { direct, sent } = await setup(false);
    expect(direct.report(true)).toBe(false);
    expect(sent).toHaveLength(0);
  });
});
