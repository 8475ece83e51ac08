// Scenario 5: REST broadcasts. A subscriber joins; a second client that never joins uses
// channel.httpSend() (single-message endpoint, must answer exactly 202) and channel.send() (falls back to the
// batch endpoint because the channel is not joined). The subscriber must receive both.
// argv: URL KEY [TOPIC]
import { Inbox, client, done, emit, extraArgs, step, subscribe } from './lib.js'

const topic = extraArgs[0] ?? 'js-http'
const received = new Inbox()
const subscriber = client()
const channel = subscriber.channel(topic).on('broadcast', { event: '*' }, (message) => received.push(message))
step('subscriber joining')
await subscribe(channel)

const responses = []
const recordingFetch = async (input, init) => {
  const response = await fetch(input, init)
  const requestUrl = new URL(typeof input === 'string' ? input : input.url)
  responses.push({ method: init?.method ?? 'GET', path: requestUrl.pathname, status: response.status })
  emit('http', responses.at(-1))
  return response
}
const sender = client({ global: { fetch: recordingFetch } })
const outgoing = sender.channel(topic)

step('httpSend')
emit('http_send', { result: await outgoing.httpSend('via-http-send', { n: 1, text: 'single' }) })
step('waiting for the httpSend message')
emit('broadcast', { message: await received.next((message) => message.event === 'via-http-send') })

step('send() on an unjoined channel (REST fallback)')
const status = await outgoing.send({ type: 'broadcast', event: 'via-rest', payload: { n: 2, text: 'batch' } })
emit('send', { status })
step('waiting for the REST fallback message')
emit('broadcast', { message: await received.next((message) => message.event === 'via-rest') })

done({ responses })
