/**
 * Webmail auto-login tokens: the one definition of the format, shared by this
 * signer (control plane) and the verifier on the server
 * (templates/webmail/webmail-login.py, which repeats it in its docstring).
 *
 *   token   = base64url(payload) "." base64url(HMAC-SHA256(key, base64url(payload)))
 *   payload = UTF-8 JSON {"v":1,"mbx":"<mailbox>","iat":<unix s>,"exp":<unix s>,"nonce":"<base64url>"}
 *
 * base64url has no padding; the MAC covers the encoded payload exactly as sent,
 * so the verifier never re-serialises JSON. The key is the per-server secret
 * (base64, at least 32 bytes) that install_mail_stack puts on the server.
 * The verifier accepts a token once: valid MAC (constant-time), v = 1, lifetime
 * exp - iat ≤ 60 s, not expired, not issued in the future (5 s skew), nonce unseen.
 * The link is https://webmail.<domain>/autologin?token=<token>.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { assertDnsName, assertEmail } from './validate.ts';

export const WEBMAIL_TOKEN_VERSION = 1;
export const WEBMAIL_TOKEN_MAX_TTL_SECONDS = 60;

export interface WebmailTokenPayload {
  v: 1;
  mbx: string;
  iat: number;
  exp: number;
  nonce: string;
}

export interface SignWebmailTokenOptions {
  /** base64 of the server's HMAC key. */
  key: string;
  mailbox: string;
  /** base64url, 16–64 characters; random 128 bits when omitted. */
  nonce?: string;
  ttlSeconds: number;
  now: Date;
}

export function signWebmailToken(options: SignWebmailTokenOptions): string {
  const key = Buffer.from(options.key, 'base64');
  if (key.length < 32) throw new Error('webmail key must be at least 32 bytes');
  assertEmail('mailbox', options.mailbox);
  if (!Number.isSafeInteger(options.ttlSeconds) || options.ttlSeconds < 1 || options.ttlSeconds > WEBMAIL_TOKEN_MAX_TTL_SECONDS) {
    throw new Error(`ttlSeconds must be an integer in [1, ${WEBMAIL_TOKEN_MAX_TTL_SECONDS}]`);
  }
  const nonce = options.nonce ?? randomBytes(16).toString('base64url');
  if (!/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) throw new Error('nonce must be 16-64 base64url characters');
  const iat = Math.floor(options.now.getTime() / 1000);
  const payload: WebmailTokenPayload = { v: WEBMAIL_TOKEN_VERSION, mbx: options.mailbox, iat, exp: iat + options.ttlSeconds, nonce };
  const encoded = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  const mac = createHmac('sha256', key).update(encoded, 'ascii').digest('base64url');
  return `${encoded}.${mac}`;
}

export function webmailLoginUrl(domain: string, token: string): string {
  return `https://webmail.${assertDnsName('domain', domain)}/autologin?token=${encodeURIComponent(token)}`;
}

/**
 * The server's verifier (templates/webmail/webmail-login.py `verify`) in TypeScript, for the
 * sandbox's stand-in of an emulated server's webmail: the same checks in the same order. Returns
 * the mailbox, or the reason the server would refuse; the caller keeps the used nonces.
 */
export function checkWebmailToken(
  token: string,
  keyBase64: string,
  nowSeconds: number,
  domain: string,
): { mailbox: string; nonce: string; exp: number } | { refused: string } {
  if (token.length > 1024 || token.split('.').length !== 2) return { refused: 'malformed' };
  const [payloadB64, macB64] = token.split('.') as [string, string];
  const expected = createHmac('sha256', Buffer.from(keyBase64, 'base64')).update(payloadB64, 'ascii').digest();
  const given = Buffer.from(macB64, 'base64url');
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { refused: 'bad signature' };
  let payload: Partial<WebmailTokenPayload>;
  try {
    payload = JSON.parse(Buffer.from(payloadB64, 'base64url').toString('utf8')) as Partial<WebmailTokenPayload>;
  } catch {
    return { refused: 'malformed payload' };
  }
  if (payload?.v !== WEBMAIL_TOKEN_VERSION) return { refused: 'unknown version' };
  const { mbx, iat, exp, nonce } = payload;
  if (typeof mbx !== 'string' || !/^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?@[a-z0-9](?:[a-z0-9.-]{0,251}[a-z0-9])?$/.test(mbx))
    return { refused: 'bad mailbox' };
  if (!mbx.endsWith(`@${domain}`)) return { refused: 'mailbox of another domain' };
  if (!Number.isInteger(iat) || !Number.isInteger(exp)) return { refused: 'bad times' };
  if (exp! <= iat! || exp! - iat! > WEBMAIL_TOKEN_MAX_TTL_SECONDS) return { refused: 'lifetime over 60 s' };
  if (iat! > nowSeconds + 5) return { refused: 'issued in the future' };
  if (nowSeconds >= exp!) return { refused: 'expired' };
  if (typeof nonce !== 'string' || !/^[A-Za-z0-9_-]{16,64}$/.test(nonce)) return { refused: 'bad nonce' };
  return { mailbox: mbx, nonce, exp: exp! };
}
