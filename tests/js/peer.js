// A JS peer driven over stdin, for Python <-> JS scenarios (broadcast both ways, presence).
// argv: URL KEY TOPIC PRESENCE_KEY
// Joins TOPIC with broadcast {ack: true, self: false} and presence key PRESENCE_KEY, prints
// {"type":"ready"} once SUBSCRIBED, then prints every broadcast and presence event it sees. Commands, one JSON
// object per stdin line:
//   {"cmd": "send", "event": E, "payload": {...}}  -> {"type":"sent","status":...}
//   {"cmd": "track", "state": {...}}               -> {"type":"tracked","status":...}
//   {"cmd": "untrack"}                             -> {"type":"untracked","status":...}
//   {"cmd": "exit"} or EOF                         -> exits at once, without leaving or untracking
// The driver sets NBRT_JS_TIMEOUT_MS to bound the peer's whole life.
import { client, commands, emit, extraArgs, fail, step, subscribe } from './lib.js'

const [topic, presenceKey] = extraArgs
if (!topic || !presenceKey) fail('usage: node peer.js URL KEY TOPIC PRESENCE_KEY')

const supabase = client()
const channel = supabase
  .channel(topic, { config: { broadcast: { ack: true, self: false }, presence: { key: presenceKey } } })
  .on('broadcast', { event: '*' }, (message) => emit('broadcast', { event: message.event, payload: message.payload }))
  .on('presence', { event: 'sync' }, () => {
    emit('presence_sync', { keys: Object.keys(channel.presenceState()).sort() })
  })
  .on('presence', { event: 'join' }, ({ key, newPresences }) => {
    emit('presence_join', { key, presences: newPresences })
  })
  .on('presence', { event: 'leave' }, ({ key, leftPresences }) => {
    emit('presence_leave', { key, presences: leftPresences })
  })

step('joining')
await subscribe(channel)
emit('ready', { topic: channel.topic })

for await (const command of commands()) {
  step(`running ${JSON.stringify(command)}`)
  if (command.cmd === 'send') {
    emit('sent', { status: await channel.send({ type: 'broadcast', event: command.event, payload: command.payload }) })
  } else if (command.cmd === 'track') {
    emit('tracked', { status: await channel.track(command.state) })
  } else if (command.cmd === 'untrack') {
    emit('untracked', { status: await channel.untrack() })
  } else if (command.cmd === 'exit') {
    break
  } else {
    fail(`unknown command ${JSON.stringify(command)}`)
  }
  step('waiting for a command')
}
emit('exit')
process.exit(0)
