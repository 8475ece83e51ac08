// Scenario 4: a short heartbeat interval; the socket must stay up (no heartbeat timeout, no reconnect).
// argv: URL KEY [INTERVAL_MS=300] [OK_HEARTBEATS=6]
import { client, done, emit, extraArgs, fail, statuses, step, subscribe, wire } from './lib.js'

const intervalMs = Number(extraArgs[0] ?? 300)
const wanted = Number(extraArgs[1] ?? 6)
const counts = {}
let finish
const enough = new Promise((resolve) => {
  finish = resolve
})

const supabase = client({
  realtime: {
    heartbeatIntervalMs: intervalMs,
    heartbeatCallback: (status, latency) => {
      counts[status] = (counts[status] ?? 0) + 1
      emit('heartbeat', { status, latency: latency ?? null })
      if (status === 'timeout' || status === 'error') fail(`heartbeat ${status} after ${JSON.stringify(counts)}`)
      if ((counts.ok ?? 0) >= wanted) finish()
    },
  },
})
emit('client', { heartbeat_interval_ms: supabase.realtime.heartbeatIntervalMs })

const channel = supabase.channel('js-heartbeat')
step('joining')
await subscribe(channel)

step(`waiting for ${wanted} heartbeat replies`)
await enough

const heartbeats = wire.sent.filter((frame) => frame.topic === 'phoenix' && frame.event === 'heartbeat')
const replies = wire.received.filter((frame) => frame.topic === 'phoenix')
const unanswered = heartbeats.filter((beat) => !replies.some((reply) => reply.ref === beat.ref))
done({
  heartbeat_frames: { sent: heartbeats.length, unanswered: unanswered.length },
  heartbeat_replies: [...new Set(replies.map((reply) => JSON.stringify([reply.join_ref, reply.event, reply.payload])))],
  heartbeats: counts,
  opened: wire.opened,
  closes: wire.closes,
  channel_errors: statuses.filter((entry) => entry.status !== 'SUBSCRIBED').length,
  joins: wire.sent.filter((frame) => frame.event === 'phx_join').length,
  connected: supabase.realtime.isConnected(),
})
