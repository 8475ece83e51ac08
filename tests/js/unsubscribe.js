// Scenario 6: join, then channel.unsubscribe() must resolve 'ok'. (realtime-js 2.109 resolves it locally as soon as
// phx_leave is sent, so the script also waits for the server's side on the wire: the phx_reply to the leave push
// and the phx_close that follows it.)
// argv: URL KEY [TOPIC]
import { client, done, emit, extraArgs, incoming, statuses, step, subscribe, wire } from './lib.js'

const topic = extraArgs[0] ?? 'js-unsubscribe'
const supabase = client()
const channel = supabase.channel(topic)

step('joining')
await subscribe(channel)

step('unsubscribing')
const result = await channel.unsubscribe()
emit('unsubscribe', { result, state: channel.state })

const join = wire.sent.find((frame) => frame.event === 'phx_join')
const leave = wire.sent.find((frame) => frame.event === 'phx_leave')
step('waiting for the reply to phx_leave')
const reply = await incoming.next((frame) => frame.event === 'phx_reply' && frame.ref === leave.ref)
emit('leave_reply', { join_ref: reply.join_ref, ref: reply.ref, payload: reply.payload, leave_ref: leave.ref })
step('waiting for phx_close')
const close = await incoming.next((frame) => frame.event === 'phx_close')
emit('phx_close', { join_ref: close.join_ref, ref: close.ref, payload: close.payload, join_ref_sent: join.ref })

done({
  closed_callback: statuses.some((entry) => entry.status === 'CLOSED'),
  server_events: wire.received.filter((frame) => frame.topic === channel.topic).map((frame) => frame.event),
})
