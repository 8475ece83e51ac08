// Scenario 1: join (vsn 2.0.0), broadcast with ack + self, get the message back.
// argv: URL KEY [TOPIC]
import { Inbox, client, done, emit, extraArgs, step, subscribe, wire } from './lib.js'

const topic = extraArgs[0] ?? 'js-self'
const supabase = client()
emit('client', { vsn: supabase.realtime.vsn, endpoint: supabase.realtime.endpointURL() })

const received = new Inbox()
const channel = supabase
  .channel(topic, { config: { broadcast: { ack: true, self: true } } })
  .on('broadcast', { event: 'echo' }, (message) => received.push(message))

step('joining')
await subscribe(channel)

step('sending a broadcast with ack')
const payload = { n: 1, text: 'héllo from js', nested: { list: [1, 2, 3] } }
const status = await channel.send({ type: 'broadcast', event: 'echo', payload })
emit('send', { status })

step('waiting for the own broadcast (self: true)')
const message = await received.next()
emit('broadcast', { message })

const broadcastsSent = wire.sent.filter((frame) => frame.binary)
const broadcastsReceived = wire.received.filter((frame) => frame.binary)
const textBroadcasts = wire.received.filter((frame) => !frame.binary && frame.event === 'broadcast')
done({
  text_broadcast_refs: textBroadcasts.map((frame) => [frame.join_ref, frame.ref]),
  sent_binary_kinds: broadcastsSent.map((frame) => frame.kind),
  received_binary_kinds: broadcastsReceived.map((frame) => frame.kind),
})
