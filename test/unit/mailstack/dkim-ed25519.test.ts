/** The Ed25519 DKIM key beside the RSA one: Rspamd's key-file format and the signing configuration naming both. */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { rspamdEd25519Key } from '../../../src/mailstack/dkim-key-format.ts';
import { dkimFiles, renderServerTree } from '../../../src/mailstack/render.ts';
import { TemplateInputError } from '../../../src/mailstack/validate.ts';
import { ed25519RawPublicKey, nextSelector } from '../../../provisioning/dkim/keys.ts';
import { sampleServer } from './sample-server.ts';

const ed = generateKeyPairSync('ed25519');
const pem = ed.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();

describe('Ed25519 DKIM keys', () => {
  it('writes the key as rspamadm dkim_keygen -t ed25519 does: base64 of the seed then the public key', () => {
    const raw = Buffer.from(rspamdEd25519Key(pem), 'base64');
    expect(raw).toHaveLength(64);
    const publicRaw = Buffer.from(ed25519RawPublicKey(createPublicKey(pem).export({ type: 'spki', format: 'der' })), 'base64');
    expect(raw.subarray(32)).toEqual(publicRaw);
    expect(publicRaw).toHaveLength(32);
  });

  it('renders both selectors into dkim_signing.conf, RSA first, each with its key file', () => {
    const tree = renderServerTree(sampleServer({ dkimEd25519: { selector: 'mp2024e', privateKeyPem: pem } }));
    const files = dkimFiles(tree);
    const conf = files.find((f) => f.path === '/etc/rspamd/local.d/dkim_signing.conf')!.content;
    expect(conf.indexOf('selector = "mp2024"')).toBeLessThan(conf.indexOf('selector = "mp2024e"'));
    expect(conf).toContain('path = "/var/lib/rspamd/dkim/example.com.mp2024e.key"');
    const key = files.find((f) => f.path === '/var/lib/rspamd/dkim/example.com.mp2024e.key')!;
    expect(key.mode).toBe(0o600);
    expect(key.content.trim()).toBe(rspamdEd25519Key(pem));
    expect(files.map((f) => f.path).sort()).toEqual([
      '/etc/rspamd/local.d/dkim_signing.conf',
      '/var/lib/rspamd/dkim/example.com.mp2024.key',
      '/var/lib/rspamd/dkim/example.com.mp2024e.key',
    ]);
  });

  it('refuses an RSA key or a reused selector where the Ed25519 key goes', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(() => renderServerTree(sampleServer({ dkimEd25519: { selector: 'mp2024e', privateKeyPem: rsa } }))).toThrow(TemplateInputError);
    expect(() => renderServerTree(sampleServer({ dkimEd25519: { selector: 'mp2024', privateKeyPem: pem } }))).toThrow(/must differ/);
    expect(() => renderServerTree(sampleServer({ dkimEd25519: { selector: 'mp"; x', privateKeyPem: pem } }))).toThrow(TemplateInputError);
  });

  it('names selectors by day and never reuses one, its Ed25519 twin included', () => {
    const day = new Date('2026-12-07T10:00:00Z');
    expect(nextSelector(day, new Set())).toBe('mp20261207');
    expect(nextSelector(day, new Set(['mp20261207', 'mp20261207e']))).toBe('mp20261207b');
    // mp20261207e is the first generation's Ed25519 selector: the fifth base skips it.
    expect(nextSelector(day, new Set(['mp20261207', 'mp20261207e', 'mp20261207b', 'mp20261207c', 'mp20261207d']))).toBe('mp20261207f');
  });
});
