// supabase.auth.admin through supabase-js with the service-role key: create (with password, metadata), list with
// pagination, get, update metadata, delete; the same calls with the anon key are refused.
// argv: URL ANON_KEY SERVICE_ROLE_KEY
import { client, done, emit, extraArgs, fail, step } from './lib.js'

const admin = client({ key: extraArgs[0] }).auth.admin

async function call(name, promise) {
  step(name)
  const { data, error } = await promise
  if (error) fail(`${name}: ${error.status} ${error.code} ${error.message}`)
  return data
}

const created = await call(
  'create',
  admin.createUser({ email: 'js@example.com', password: 'js password', email_confirm: true, user_metadata: { n: 1 } }),
)
emit('created', { email: created.user.email, metadata: created.user.user_metadata })
await call('create second', admin.createUser({ email: 'js2@example.com' }))
const listed = await call('list', admin.listUsers({ page: 1, perPage: 1 }))
emit('listed', { count: listed.users.length, total: listed.total, nextPage: listed.nextPage, lastPage: listed.lastPage })
const updated = await call(
  'update',
  admin.updateUserById(created.user.id, { user_metadata: { n: null, m: 2 }, app_metadata: { plan: 'pro' } }),
)
emit('updated', { metadata: updated.user.user_metadata, plan: updated.user.app_metadata.plan })
await call('delete', admin.deleteUser(created.user.id))
step('get deleted')
const gone = await admin.getUserById(created.user.id)
emit('gone', { status: gone.error?.status, code: gone.error?.code })
step('anon key is refused')
const refused = await client().auth.admin.listUsers()
emit('refused', { status: refused.error?.status, code: refused.error?.code })
done()
