// The browser's own path to the backend (DESIGN.md §3 "Browser link"): what the user types leaves the page on a
// realtime socket of its own, so it never waits for a kernel that is busy running a cell. One socket per page,
// backend and user (however many widgets use it), one channel per room topic, the user's own session token (handed
// over and refreshed by the kernel), and the official clients: @supabase/realtime-js and @supabase/postgrest-js.
import { PostgrestClient } from "@supabase/postgrest-js";
import { RealtimeClient } from "@supabase/realtime-js";

/**
 * What the kernel hands a view so it can reach the backend itself (the `link` trait; never saved in the notebook).
 * @typedef {{ url: string, key: string, token: string, topic: string, private: boolean, user: string }} LinkInfo
 * @typedef {(event: string, payload: any) => void} Listener
 */

/** How long a broadcast may wait for the server's ack before the caller falls back to the kernel path. */
export const SEND_TIMEOUT_MS = 3000;

/**
 * One realtime socket and REST client of a user on a backend; channels are shared by topic and counted.
 */
class Socket {
  /** @param {LinkInfo} info */
  constructor(info) {
    const endpoint = new URL("realtime/v1", info.url.endsWith("/") ? info.url : `${info.url}/`);
    endpoint.protocol = endpoint.protocol.replace("http", "ws");
    this.info = info;
    this.token = info.token;
    this.client = new RealtimeClient(endpoint.href, { params: { apikey: info.key }, timeout: SEND_TIMEOUT_MS });
    this.client.setAuth(info.token);
    /** @type {Map<string, Topic>} */
    this.topics = new Map();
  }

  /** @param {string} token */
  setToken(token) {
    if (!token || token === this.token) return;
    this.token = token;
    this.client.setAuth(token);
  }

  /** A PostgREST client carrying the current token (built per call: the token changes, the client is cheap). */
  rest() {
    return new PostgrestClient(`${this.info.url.replace(/\/$/, "")}/rest/v1`, {
      headers: { apikey: this.info.key, Authorization: `Bearer ${this.token}` },
    });
  }
}

/** One joined channel and the views listening on it. */
class Topic {
  /** @param {Socket} socket @param {LinkInfo} info */
  constructor(socket, info) {
    this.socket = socket;
    this.name = info.topic;
    /** @type {Set<Listener>} */
    this.listeners = new Set();
    /** @type {Set<(ready: boolean) => void>} */
    this.watchers = new Set();
    this.ready = false;
    this.channel = socket.client.channel(info.topic, {
      // self: false — our own kernel (another socket) still receives what this page sends.
      config: { broadcast: { self: false, ack: true }, presence: { key: "", enabled: false }, private: info.private },
    });
    this.channel.on("broadcast", { event: "*" }, (/** @type {any} */ message) => {
      for (const listener of [...this.listeners]) listener(message.event, message.payload);
    });
    this.channel.subscribe((/** @type {string} */ status) => this.setReady(status === "SUBSCRIBED"));
  }

  /** @param {boolean} ready */
  setReady(ready) {
    if (ready === this.ready) return;
    this.ready = ready;
    for (const watcher of [...this.watchers]) watcher(ready);
  }
}

/** @type {Map<string, Socket>} */
const sockets = new Map();

/**
 * Join `info.topic` for one view. `onMessage(event, payload)` gets every broadcast on it; `onReady(ready)` every
 * change of whether sends can go direct. Leave with the returned handle's `leave()`; the last view out closes the
 * channel, and the socket with it.
 * @param {LinkInfo} info
 * @param {Listener} onMessage
 * @param {(ready: boolean) => void} [onReady]
 */
export function join(info, onMessage, onReady) {
  const id = `${info.url}|${info.user}`;
  let socket = sockets.get(id);
  if (!socket) {
    socket = new Socket(info);
    sockets.set(id, socket);
  }
  socket.setToken(info.token);
  let topic = socket.topics.get(info.topic);
  if (!topic) {
    topic = new Topic(socket, info);
    socket.topics.set(info.topic, topic);
  }
  const owner = socket;
  const joined = topic;
  joined.listeners.add(onMessage);
  if (onReady) {
    joined.watchers.add(onReady);
    if (joined.ready) onReady(true);
  }
  let left = false;
  return {
    /** Whether a send would go straight to the backend now. */
    get ready() {
      return !left && joined.ready;
    },
    /** @param {string} token */
    setToken: (token) => owner.setToken(token),
    /**
     * Broadcast on the topic; resolves true once the server acknowledged it, false if it could not (the caller
     * then hands the data to the kernel instead: nothing is dropped).
     * @param {string} event @param {any} payload
     */
    async send(event, payload) {
      if (left || !joined.ready) return false;
      try {
        return (await joined.channel.send({ type: "broadcast", event, payload })) === "ok";
      } catch {
        return false;
      }
    },
    /**
     * Insert one row over REST with this user's token; resolves true when stored.
     * @param {string} table @param {Record<string, unknown>} row
     */
    async insert(table, row) {
      if (left) return false;
      try {
        const { error } = await owner.rest().from(table).insert(row);
        return !error;
      } catch {
        return false;
      }
    },
    /** The PostgREST client (current token) for writes that need more than an insert. */
    rest: () => owner.rest(),
    leave() {
      if (left) return;
      left = true;
      joined.listeners.delete(onMessage);
      if (onReady) joined.watchers.delete(onReady);
      if (joined.listeners.size > 0) return;
      owner.topics.delete(joined.name);
      owner.client.removeChannel(joined.channel);
      if (owner.topics.size === 0) {
        sockets.delete(id);
        owner.client.disconnect();
      }
    },
  };
}

/** Sockets open on this page (tests: one per backend and user, however many views). */
export function openSockets() {
  return [...sockets.values()].map((s) => ({
    url: s.info.url,
    user: s.info.user,
    topics: [...s.topics.keys()],
    joined: [...s.topics.values()].filter((t) => t.ready).map((t) => t.name),
  }));
}
