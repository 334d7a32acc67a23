/**
 * Validation of every value that reaches a template. The templates are read by
 * many parsers (Postfix, Dovecot, nginx, Rspamd UCL, shell, PHP, Python), each
 * with its own quoting rules, so instead of escaping per language we accept only
 * values whose characters are inert in all of them: no whitespace, quotes, `$`,
 * `{`, `;`, `#`, `\`, or newlines can reach a rendered file.
 */
import { createPrivateKey } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import { isAddressOrCidr } from '../net-address.ts';
import type { ServerTemplateInput } from './server-input.ts';

export class TemplateInputError extends Error {
  readonly field: string;
  constructor(field: string, message: string) {
    super(`${field}: ${message}`);
    this.field = field;
    this.name = 'TemplateInputError';
  }
}

const DNS_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const LOCAL_PART = /^[a-z0-9](?:[a-z0-9._+-]{0,62}[a-z0-9])?$/;
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

export function assertDnsName(field: string, value: string): string {
  if (typeof value !== 'string' || !DNS_NAME.test(value)) throw new TemplateInputError(field, `not a lowercase DNS name: ${JSON.stringify(value)}`);
  return value;
}

export function assertLabel(field: string, value: string): string {
  if (typeof value !== 'string' || !LABEL.test(value)) throw new TemplateInputError(field, `not a DNS label (a-z, 0-9, -): ${JSON.stringify(value)}`);
  return value;
}

export function assertLocalPart(field: string, value: string): string {
  if (typeof value !== 'string' || !LOCAL_PART.test(value) || value.includes('..')) {
    throw new TemplateInputError(field, `not a plain lowercase local part: ${JSON.stringify(value)}`);
  }
  return value;
}

export function assertEmail(field: string, value: string): string {
  const at = typeof value === 'string' ? value.lastIndexOf('@') : -1;
  if (at < 1) throw new TemplateInputError(field, `not an email address: ${JSON.stringify(value)}`);
  assertLocalPart(field, value.slice(0, at));
  assertDnsName(field, value.slice(at + 1));
  return value;
}

function assertInt(field: string, value: number, min: number, max: number): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) throw new TemplateInputError(field, `must be an integer in [${min}, ${max}], got ${value}`);
  return value;
}

/** Throws a TemplateInputError naming the first bad field; returns the input unchanged when it is safe to render. */
export function validateServerInput(input: ServerTemplateInput): ServerTemplateInput {
  assertDnsName('hostname', input.hostname);
  assertDnsName('domain', input.domain);
  // Postfix would treat the domain both as local (mydestination) and virtual.
  if (input.hostname === input.domain) throw new TemplateInputError('hostname', 'must differ from the mail domain (e.g. mail.example.com)');
  if (typeof input.ipv4 !== 'string' || !isIPv4(input.ipv4)) throw new TemplateInputError('ipv4', `not an IPv4 address: ${JSON.stringify(input.ipv4)}`);
  if (typeof input.ipv6 !== 'string' || !isIPv6(input.ipv6) || input.ipv6.includes('%'))
    throw new TemplateInputError('ipv6', `not an IPv6 address: ${JSON.stringify(input.ipv6)}`);
  if (!Array.isArray(input.sshSources) || input.sshSources.length === 0 || !input.sshSources.every((s) => typeof s === 'string' && isAddressOrCidr(s))) {
    // Empty would lock the control plane out of its own server; anything else goes into nftables as is.
    throw new TemplateInputError('sshSources', `not a non-empty list of addresses or CIDRs: ${JSON.stringify(input.sshSources)}`);
  }
  assertLabel('dkimSelector', input.dkimSelector);
  assertEmail('adminEmail', input.adminEmail);
  // Goes into a single-quoted shell argument: only plain URL characters, and only https.
  if (input.acmeDirectoryUrl !== undefined && !/^https:\/\/[A-Za-z0-9.-]+(:\d{1,5})?(\/[A-Za-z0-9._~/-]*)?$/.test(input.acmeDirectoryUrl)) {
    throw new TemplateInputError('acmeDirectoryUrl', 'must be an https URL of plain characters');
  }
  try {
    const key = createPrivateKey(input.dkimPrivateKeyPem);
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`${key.asymmetricKeyType} key`);
  } catch (err) {
    throw new TemplateInputError('dkimPrivateKeyPem', `not an RSA private key in PEM (${(err as Error).message})`);
  }
  if (input.dkimEd25519 !== undefined) {
    assertLabel('dkimEd25519.selector', input.dkimEd25519.selector);
    if (input.dkimEd25519.selector === input.dkimSelector)
      throw new TemplateInputError('dkimEd25519.selector', 'must differ from the RSA selector (a selector publishes one key)');
    try {
      const key = createPrivateKey(input.dkimEd25519.privateKeyPem);
      if (key.asymmetricKeyType !== 'ed25519') throw new Error(`${key.asymmetricKeyType} key`);
    } catch (err) {
      throw new TemplateInputError('dkimEd25519.privateKeyPem', `not an Ed25519 private key in PEM (${(err as Error).message})`);
    }
  }
  if (!BASE64.test(input.webmailHmacKey) || Buffer.from(input.webmailHmacKey, 'base64').length < 32) {
    throw new TemplateInputError('webmailHmacKey', 'must be base64 of at least 32 bytes');
  }
  assertInt('limits.messagesPerHourPerSender', input.limits.messagesPerHourPerSender, 1, 100_000);
  assertInt('limits.recipientsPerMessage', input.limits.recipientsPerMessage, 1, 10_000);
  assertInt('limits.quotaMb', input.limits.quotaMb, 1, 10_000_000);
  const sts = input.mtaStsPolicy;
  if (sts.mode !== 'enforce' && sts.mode !== 'testing') throw new TemplateInputError('mtaStsPolicy.mode', 'must be enforce or testing');
  if (!Array.isArray(sts.mx) || sts.mx.length === 0) throw new TemplateInputError('mtaStsPolicy.mx', 'needs at least one MX pattern');
  // RFC 8461: an mx pattern may start with "*." (one wildcard label).
  for (const mx of sts.mx) assertDnsName('mtaStsPolicy.mx', mx.startsWith('*.') ? mx.slice(2) : mx);
  assertInt('mtaStsPolicy.maxAge', sts.maxAge, 86_400, 31_557_600);
  return input;
}
