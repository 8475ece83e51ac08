// Scenario 7: supabase.auth.signInAnonymously(), then join with the user's token and broadcast (ack + self).
// A second client whose token has a forged payload must be refused at join.
// argv: URL KEY [TOPIC]
import { Inbox, client, done, emit, extraArgs, fail, step, subscribe, wire } from './lib.js'

const topic = extraArgs[0] ?? 'js-auth'
const supabase = client()

step('signInAnonymously')
const { data, error } = await supabase.auth.signInAnonymously()
if (error) fail(`signInAnonymously failed: ${error.status ?? ''} ${error.code ?? ''} ${error.message}`)
const token = data.session?.access_token
if (!token) fail(`signInAnonymously returned no session: ${JSON.stringify(data)}`)
const [header, body, signature] = token.split('.')
const claims = JSON.parse(Buffer.from(body, 'base64url').toString())
emit('signed_in', {
  user_id: data.user.id,
  is_anonymous: data.user.is_anonymous,
  role: claims.role,
  sub: claims.sub,
  // supabase-js hands the token to realtime on SIGNED_IN, before signInAnonymously() resolves
  realtime_has_user_token: supabase.realtime.accessTokenValue === token,
})

const received = new Inbox()
const channel = supabase
  .channel(topic, { config: { broadcast: { ack: true, self: true } } })
  .on('broadcast', { event: 'hello' }, (message) => received.push(message))
step('joining with the user token')
await subscribe(channel)
const join = wire.sent.find((frame) => frame.event === 'phx_join' && frame.topic === channel.topic)
emit('joined', { join_carried_user_token: join?.payload?.access_token === token })

step('broadcast as the anonymous user')
emit('send', { status: await channel.send({ type: 'broadcast', event: 'hello', payload: { from: data.user.id } }) })
emit('broadcast', { message: await received.next() })

step('joining with a forged token (service_role claims, user signature)')
const forgedBody = Buffer.from(JSON.stringify({ ...claims, role: 'service_role' })).toString('base64url')
const forgedToken = `${header}.${forgedBody}.${signature}`
const forged = client()
await forged.realtime.setAuth(forgedToken) // known before the join, so phx_join carries it
const refused = forged.channel(`${topic}-forged`)
const outcome = await new Promise((resolve) => {
  refused.subscribe((status, err) => resolve({ status, error: err ? String(err.message ?? err) : null }))
})
await forged.removeChannel(refused) // stop the rejoin schedule
const forgedJoin = wire.sent.find((frame) => frame.event === 'phx_join' && frame.topic === refused.topic)
outcome.join_carried_forged_token = forgedJoin?.payload?.access_token === forgedToken
emit('forged_join', outcome)
done()
