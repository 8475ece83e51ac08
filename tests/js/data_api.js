// The data API's PostgREST features through supabase-js: containment, overlap, quantified like, full-text search,
// JSON paths and casts, embedded resources (alias, hint, !inner, nesting, embedded filters) and constraint errors, over
// the tables of tests/query_cases.py (docs) and tests/schemas/relations.toml (authors, posts).  One line per query.
// argv: URL KEY
import { client, done, emit, fail, step } from './lib.js'

const supabase = client()

async function ids(name, query) {
  step(name)
  const { data, error } = await query
  if (error) fail(`${name}: ${JSON.stringify(error)}`)
  emit('ids', { name, ids: data.map((row) => row.id) })
}

async function rows(name, query) {
  step(name)
  const { data, error } = await query
  if (error) fail(`${name}: ${JSON.stringify(error)}`)
  emit('rows', { name, data })
}

const docs = () => supabase.from('docs').select('id').order('id')
await ids('contains', docs().contains('tags', ['a']))
await ids('contains json', docs().contains('meta', { o: { p: 1 } }))
await ids('contained by', docs().containedBy('tags', ['a', 'b', 'c']))
await ids('overlaps', docs().overlaps('tags', ['c', 'a']))
await ids('like any', docs().likeAnyOf('body', ['%cat%', '%dog%']))
await ids('text search', docs().textSearch('body', 'cat & !run'))
await ids('websearch', docs().textSearch('body', '"fat cat" or dog', { type: 'websearch', config: 'english' }))
await ids('json path filter', docs().eq('meta->>s', 'x'))
await ids('not', docs().not('tags', 'cs', '{b}'))
await ids('or', docs().or('tags.cs.{c},body.phfts.dog sat'))
await rows('paths and casts', supabase.from('docs').select('id, title:meta->>s, meta->k, n::text').eq('id', 2))
await rows(
  'embedding',
  supabase.from('posts').select('id, writer:authors!author(name), editor(name)').order('id'),
)
await rows(
  'inner with embedded filter',
  supabase.from('authors').select('name, posts!author!inner(id, stars)').gt('posts.stars', 3),
)
step('constraints')
const unknownAuthor = await supabase.from('posts').insert({ author: 99, title: 'x' })
const badStars = await supabase.from('posts').insert({ author: 1, title: 'x', stars: 9 })
emit('constraints', { fk: unknownAuthor.error?.code, check: badStars.error?.code, status: unknownAuthor.status })
step('ambiguous embedding')
const ambiguous = await supabase.from('posts').select('*, authors(*)')
emit('refused', { name: 'ambiguous', code: ambiguous.error?.code, status: ambiguous.status })
done()
