/**
 * Verifying a PulseMesh webhook delivery (Standard Webhooks): HMAC-SHA256 over
 * "webhook-id.webhook-timestamp.body" with the endpoint's whsec_ secret, compared in constant
 * time, timestamp within a tolerance (replay window). WebCrypto only: works in Node and browsers.
 */
import { PulseError } from '@pulsemesh/core'

export class WebhookVerificationError extends PulseError<
  'WEBHOOK_HEADERS_MISSING' | 'WEBHOOK_TIMESTAMP_OUT_OF_RANGE' | 'WEBHOOK_SIGNATURE_INVALID'
> {}

export interface WebhookMessage {
  type: 'block.committed' | 'tx.committed' | 'chain.event'
  timestamp: string
  data: Record<string, unknown>
}

type HeaderBag = Headers | Record<string, string | string[] | undefined>
const header = (h: HeaderBag, name: string): string | undefined => {
  if (typeof (h as Headers).get === 'function') return (h as Headers).get(name) ?? undefined
  const v = (h as Record<string, string | string[] | undefined>)[name]
  return Array.isArray(v) ? v[0] : v
}
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes))
const unb64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0))

/** Checks a delivery and returns its parsed message; throws WebhookVerificationError otherwise. */
export async function verifyWebhook(
  secret: string,
  headers: HeaderBag,
  body: string,
  o: { toleranceSeconds?: number; nowSeconds?: number } = {},
): Promise<WebhookMessage> {
  const id = header(headers, 'webhook-id')
  const ts = header(headers, 'webhook-timestamp')
  const sigs = header(headers, 'webhook-signature')
  if (!id || !ts || !sigs || !/^[0-9]{1,12}$/.test(ts))
    throw new WebhookVerificationError(
      'WEBHOOK_HEADERS_MISSING',
      'webhook-id, webhook-timestamp and webhook-signature are required',
    )
  const now = o.nowSeconds ?? Math.floor(Date.now() / 1000)
  if (Math.abs(now - Number(ts)) > (o.toleranceSeconds ?? 300))
    throw new WebhookVerificationError(
      'WEBHOOK_TIMESTAMP_OUT_OF_RANGE',
      'webhook timestamp outside the tolerance (replay?)',
    )
  const key = await crypto.subtle.importKey(
    'raw',
    unb64(secret.replace(/^whsec_/, '')),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  )
  const mac = b64(
    new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(`${id}.${ts}.${body}`))),
  )
  let ok = false
  for (const part of sigs.split(' ')) {
    const [v, sig] = part.split(',', 2)
    if (v !== 'v1' || sig === undefined || sig.length !== mac.length) continue
    let diff = 0
    for (let i = 0; i < mac.length; i++) diff |= mac.charCodeAt(i) ^ sig.charCodeAt(i)
    if (diff === 0) ok = true
  }
  if (!ok) throw new WebhookVerificationError('WEBHOOK_SIGNATURE_INVALID', 'no valid v1 signature')
  return JSON.parse(body) as WebhookMessage
}
