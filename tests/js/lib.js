// Shared plumbing for the supabase-js interop scripts (driven by tests/server/test_js_client.py).
//
// Every script takes the server URL and anon key as argv[2] / argv[3] (or SUPABASE_URL / SUPABASE_ANON_KEY),
// prints what it observes as JSON lines on stdout ({"type": ..., ...}), exits 0 when its scenario is done and
// exits 1 with an {"type": "error"} line (and a message on stderr) on failure or when its own deadline passes
// (NBRT_JS_TIMEOUT_MS, default 15 s).
import { createInterface } from 'node:readline'

import { createClient } from '@supabase/supabase-js'
import WebSocket from 'ws'

export const url = process.argv[2] ?? process.env.SUPABASE_URL
export const anonKey = process.argv[3] ?? process.env.SUPABASE_ANON_KEY
export const extraArgs = process.argv.slice(4)
const timeoutMs = Number(process.env.NBRT_JS_TIMEOUT_MS ?? 15000)

/** Print one observation as a JSON line. */
export function emit(type, fields = {}) {
  process.stdout.write(JSON.stringify({ type, ...fields }) + '\n')
}

/** Report a failure and exit non-zero. */
export function fail(message) {
  emit('error', { message })
  process.stderr.write(`${process.argv[1]}: ${message}\n`)
  process.exit(1)
}

if (!url || !anonKey) {
  fail('usage: node <script> SUPABASE_URL ANON_KEY [args...] (or set SUPABASE_URL and SUPABASE_ANON_KEY)')
}

let currentStep = 'starting'
/** Name what the script is waiting for, so that a timeout says where it got stuck. */
export function step(name) {
  currentStep = name
}

// Not unref'd: a script stuck on a promise nothing will settle must still fail with a message, not just end.
setTimeout(() => fail(`timed out after ${timeoutMs} ms while: ${currentStep}`), timeoutMs)
process.on('unhandledRejection', (error) => fail(`unhandled rejection: ${error?.stack ?? error}`))
process.on('uncaughtException', (error) => fail(`uncaught exception: ${error?.stack ?? error}`))

/** Exit 0 after the scenario (no graceful teardown needed: the server must cope with dropped sockets). */
export function done(fields = {}) {
  emit('done', fields)
  process.exit(0)
}

/** Wire log: what the realtime transport actually sent and received (frame kinds, topics, events). */
export const wire = { opened: 0, closes: [], sent: [], received: [] }

function describe(data, isBinary) {
  if (isBinary || typeof data !== 'string') {
    const bytes =
      data instanceof ArrayBuffer ? new Uint8Array(data) : new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
    return { binary: true, kind: bytes[0], size: bytes.length }
  }
  try {
    const message = JSON.parse(data)
    if (Array.isArray(message)) {
      const [joinRef, ref, topic, event, payload] = message
      return { binary: false, join_ref: joinRef, ref, topic, event, payload }
    }
    return { binary: false, object: true, topic: message.topic, event: message.event }
  } catch {
    return { binary: false, unparsable: data.slice(0, 200) }
  }
}

/** The `ws` WebSocket (node 20 has no global one), recording every frame into `wire`. */
export class RecordingWebSocket extends WebSocket {
  constructor(...args) {
    super(...args)
    this.on('open', () => {
      wire.opened += 1
    })
    this.on('close', (code, reason) => {
      wire.closes.push({ code, reason: reason.toString() })
    })
    this.on('message', (data, isBinary) => {
      const frame = describe(isBinary ? data : data.toString(), isBinary)
      wire.received.push(frame)
      incoming.push(frame)
    })
  }

  send(data, ...rest) {
    wire.sent.push(describe(data, typeof data !== 'string'))
    return super.send(data, ...rest)
  }
}

/** A supabase-js client for this server (anon key unless `key`): `ws` transport, no session persistence or timers. */
export function client({ realtime = {}, key = anonKey, ...options } = {}) {
  return createClient(url, key, {
    auth: { persistSession: false, autoRefreshToken: false, detectSessionInUrl: false },
    ...options,
    realtime: { transport: RecordingWebSocket, ...realtime },
  })
}

/** Every subscribe-callback status seen, in order: `{topic, status, error}`. */
export const statuses = []

/**
 * Subscribe; resolve when SUBSCRIBED and fail the script if CHANNEL_ERROR / TIMED_OUT / CLOSED comes first.
 * Later statuses (e.g. CLOSED after unsubscribe, CHANNEL_ERROR on a reconnect) are only recorded and emitted.
 */
export function subscribe(channel) {
  return new Promise((resolve) => {
    let subscribed = false
    channel.subscribe((status, error) => {
      const entry = { topic: channel.topic, status, error: error ? String(error.message ?? error) : null }
      statuses.push(entry)
      emit('status', entry)
      if (subscribed) return
      if (status === 'SUBSCRIBED') {
        subscribed = true
        resolve(status)
      } else {
        fail(`channel ${channel.topic} reported ${status} before SUBSCRIBED${entry.error ? `: ${entry.error}` : ''}`)
      }
    })
  })
}

/** A queue of observations that a script can await (`await inbox.next(...)`) instead of sleeping. */
export class Inbox {
  constructor() {
    this.items = []
    this.waiters = []
  }

  push(item) {
    this.items.push(item)
    for (const waiter of [...this.waiters]) waiter()
  }

  /** The first queued item matching `predicate` (removed from the queue); waits for it. */
  next(predicate = () => true) {
    return new Promise((resolve) => {
      const check = () => {
        const index = this.items.findIndex(predicate)
        if (index < 0) return false
        this.waiters = this.waiters.filter((waiter) => waiter !== check)
        resolve(this.items.splice(index, 1)[0])
        return true
      }
      if (!check()) this.waiters.push(check)
    })
  }
}

/** Frames received by the transport (as in `wire.received`), to await a particular one: `await incoming.next(...)`. */
export const incoming = new Inbox()

/** JSON commands, one per stdin line, as an async iterator (ends at EOF). */
export async function* commands() {
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })
  for await (const line of lines) {
    if (line.trim()) yield JSON.parse(line)
  }
}
