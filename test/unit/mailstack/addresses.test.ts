/** The address files the control plane uploads: shapes apply-addresses.sh accepts, and input that must never reach them. */
import { describe, expect, it } from 'vitest';
import { renderAddressFiles, renderSieveScript, sieveString, type AddressSet } from '../../../src/mailstack/addresses.ts';

const empty: AddressSet = { mailboxes: ['alice', 'bob'], aliases: [], catchAll: null, forwards: [], vacations: [] };
const vacation = { mailbox: 'alice', startsOn: '2026-12-20', endsOn: '2026-12-31', subject: 'Away', message: 'Back soon.', days: 7 };

describe('renderAddressFiles', () => {
  it('renders empty maps and a script without actions per mailbox when nothing is set', () => {
    const files = renderAddressFiles('example.com', empty);
    expect(files.map((f) => [f.path, f.content.length > 0])).toEqual([
      ['/etc/postfix/address_aliases', false],
      ['/etc/postfix/alias_senders', false],
      ['/etc/mailplane/sieve-scripts', true],
      ['/var/lib/dovecot/mailplane-sieve/alice@example.com.sieve', true],
      ['/var/lib/dovecot/mailplane-sieve/bob@example.com.sieve', true],
    ]);
    expect(files[3]!.content).not.toMatch(/^\s*[a-z]/m);
  });

  it('refuses an alias that is a mailbox, or of a mailbox the server does not have, and a malformed local part', () => {
    expect(() => renderAddressFiles('example.com', { ...empty, aliases: [{ localPart: 'bob', mailbox: 'alice' }] })).toThrow(/is a mailbox/);
    expect(() => renderAddressFiles('example.com', { ...empty, aliases: [{ localPart: 'sales', mailbox: 'carol' }] })).toThrow(/not a mailbox of the server/);
    expect(() => renderAddressFiles('example.com', { ...empty, aliases: [{ localPart: 'sales x', mailbox: 'alice' }] })).toThrow(/local part/);
    expect(() => renderAddressFiles('example.com', { ...empty, catchAll: 'carol' })).toThrow(/not a mailbox/);
  });

  it('quotes Sieve strings so no text becomes a command, and refuses control characters', () => {
    expect(sieveString('a "b" \\ c')).toBe('"a \\"b\\" \\\\ c"');
    expect(() => sieveString('a\u0000b')).toThrow(/control characters/);
    expect(() => renderSieveScript('example.com', 'alice', { ...empty, vacations: [{ ...vacation, subject: 'x\r\nBcc: y@example.net' }] })).toThrow(
      /control characters/,
    );
    const script = renderSieveScript('example.com', 'alice', { ...empty, vacations: [{ ...vacation, subject: '"; discard; "' }] });
    expect(script).toContain(':subject "\\"; discard; \\""');
  });

  it('refuses a forward target that is not a plain address, and vacation values out of range', () => {
    for (const target of ['x@y', '"a b"@example.net', 'a@example.net"; discard; "']) {
      expect(() => renderSieveScript('example.com', 'alice', { ...empty, forwards: [{ mailbox: 'alice', target, keepCopy: true }] })).toThrow(/not an address/);
    }
    expect(() => renderSieveScript('example.com', 'alice', { ...empty, vacations: [{ ...vacation, days: 0 }] })).toThrow(/days/);
    expect(() => renderSieveScript('example.com', 'alice', { ...empty, vacations: [{ ...vacation, endsOn: '31.12.2026' }] })).toThrow(/YYYY-MM-DD/);
  });
});
