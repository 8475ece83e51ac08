// Data API + postgres_changes through supabase-js: sign in, create a room (rpc nbrt_join_room), subscribe to the room's
// collection rows, then insert / update / delete through table() and see each change event; a second user who is
// not in the room, subscribed with a filter naming the room, must receive nothing.
// argv: URL KEY ROOM
import { Inbox, client, done, emit, extraArgs, fail, step, subscribe } from './lib.js'

const room = extraArgs[0] ?? 'js-room'

async function signedIn() {
  const supabase = client()
  const { data, error } = await supabase.auth.signInAnonymously()
  if (error) fail(`signInAnonymously failed: ${error.message}`)
  return { supabase, user: data.user }
}

const member = await signedIn()
const outsider = await signedIn()

step('creating the room (rpc nbrt_join_room: the first to join owns it)')
const joined = await member.supabase.rpc('nbrt_join_room', { room })
if (joined.error) fail(`joining failed: ${JSON.stringify(joined.error)}`)
emit('joined', { result: joined.data })
const refused = await outsider.supabase.rpc('nbrt_join_room', { room })
emit('outsider_join', { error: refused.error })

const events = new Inbox()
const outsiderEvents = []
const binding = { event: '*', schema: 'public', table: 'nbrt_collection_rows', filter: `room=eq.${room}` }
step('subscribing to postgres_changes')
await subscribe(member.supabase.channel(`${room}-member`).on('postgres_changes', binding, (p) => events.push(p)))
await subscribe(
  outsider.supabase.channel(`${room}-outsider`).on('postgres_changes', binding, (p) => outsiderEvents.push(p)),
)

step('insert through table()')
const rows = member.supabase.from('nbrt_collection_rows')
const inserted = await rows.insert({ room, collection: 'todo', id: 'a', data: { title: 'hi' } }).select().single()
if (inserted.error) fail(`insert failed: ${JSON.stringify(inserted.error)}`)
emit('inserted', { row: inserted.data })
emit('event', { payload: await events.next() })

step('update with a filter')
const updated = await rows.update({ data: { title: 'bye' }, version: 2 }).eq('room', room).eq('id', 'a').select()
if (updated.error) fail(`update failed: ${JSON.stringify(updated.error)}`)
emit('event', { payload: await events.next() })

step('select with count')
const counted = await rows.select('*', { count: 'exact' }).eq('room', room)
emit('selected', { count: counted.count, titles: counted.data.map((row) => row.data.title) })

step('outsider reads nothing')
const peek = await outsider.supabase.from('nbrt_collection_rows').select('*').eq('room', room)
emit('outsider_read', { rows: peek.data?.length ?? null, error: peek.error })

step('delete')
const deleted = await rows.delete().eq('room', room).eq('id', 'a')
if (deleted.error) fail(`delete failed: ${JSON.stringify(deleted.error)}`)
emit('event', { payload: await events.next() })
emit('outsider_events', { count: outsiderEvents.length })
done()
