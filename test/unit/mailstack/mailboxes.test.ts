/** The mailbox files the control plane uploads, and the shapes apply-mailboxes.sh accepts. */
import { describe, expect, it } from 'vitest';
import { renderMailboxFiles } from '../../../src/mailstack/mailboxes.ts';

const ARGON = '$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$8jqSeP3+w2yfJ9Jw4xHkN3e8aYh4xB5m1dQk8c1wq0E';
const SHA = `$6$saltsalt$${'a'.repeat(86)}`;

describe('renderMailboxFiles', () => {
  it('renders the Dovecot passwd-file and both Postfix maps, sorted', () => {
    const files = renderMailboxFiles('example.com', [
      { localPart: 'bob', passwordHash: `{SHA512-CRYPT}${SHA}`, quotaMb: 512 },
      { localPart: 'alice', passwordHash: ARGON, quotaMb: 1024 },
    ]);
    expect(files).toEqual([
      {
        path: '/etc/dovecot/users',
        mode: 0o640,
        content: `alice@example.com:{ARGON2ID}${ARGON}::::::userdb_quota_rule=*:storage=1024M\nbob@example.com:{SHA512-CRYPT}${SHA}::::::userdb_quota_rule=*:storage=512M\n`,
      },
      { path: '/etc/postfix/virtual_mailboxes', mode: 0o644, content: 'alice@example.com OK\nbob@example.com OK\n' },
      { path: '/etc/postfix/sender_login_maps', mode: 0o644, content: 'alice@example.com alice@example.com\nbob@example.com bob@example.com\n' },
      {
        path: '/etc/postfix/virtual_aliases',
        mode: 0o644,
        content: 'postmaster@example.com bob@example.com\nabuse@example.com bob@example.com\ndmarc-reports@example.com bob@example.com\n',
      },
    ]);
  });

  it('aliases only the role addresses the customer has not made mailboxes of', () => {
    const files = renderMailboxFiles('example.com', [
      { localPart: 'zoe', passwordHash: ARGON, quotaMb: 10 },
      { localPart: 'postmaster', passwordHash: ARGON, quotaMb: 10 },
    ]);
    expect(files.find((f) => f.path === '/etc/postfix/virtual_aliases')!.content).toBe(
      'abuse@example.com zoe@example.com\ndmarc-reports@example.com zoe@example.com\n',
    );
  });

  it('renders empty files for a server without mailboxes', () => {
    expect(renderMailboxFiles('example.com', []).map((f) => f.content)).toEqual(['', '', '', '']);
  });

  it('refuses plaintext or foreign hashes, hostile local parts, duplicates and bad quotas', () => {
    const ok = { localPart: 'alice', passwordHash: ARGON, quotaMb: 10 };
    expect(() => renderMailboxFiles('example.com', [{ ...ok, passwordHash: 'hunter2' }])).toThrow(/passwordHash/);
    expect(() => renderMailboxFiles('example.com', [{ ...ok, passwordHash: `{SHA512-CRYPT}${ARGON}` }])).toThrow(/passwordHash/);
    expect(() => renderMailboxFiles('example.com', [{ ...ok, passwordHash: `${ARGON}\nroot::0:0` }])).toThrow(/passwordHash/);
    for (const localPart of ['al:ice', 'al ice', 'alice\nmallory', 'Alice', '', '.alice']) {
      expect(() => renderMailboxFiles('example.com', [{ ...ok, localPart }]), localPart).toThrow(/localPart/);
    }
    expect(() => renderMailboxFiles('example.com', [ok, ok])).toThrow(/duplicate/);
    expect(() => renderMailboxFiles('example.com', [{ ...ok, quotaMb: 0 }])).toThrow(/quotaMb/);
    expect(() => renderMailboxFiles('exa mple.com', [ok])).toThrow(/domain/);
  });
});
