/** The disk check's judgement and its reading of GNU df. */
import { describe, expect, it } from 'vitest';
import { diskCheck, parseDf, type DiskUsage } from '../../../src/health/disk-check.ts';
import type { DnsFacts } from '../../../src/health/dns-checks.ts';

const facts = { server: { sshHostKeyFingerprint: 'SHA256:x', ipv4: '192.0.2.1' } } as unknown as DnsFacts;
const probe = (usage: DiskUsage | Error) => ({
  usage: async () => {
    if (usage instanceof Error) throw usage;
    return usage;
  },
});
const GB = 1e9;

describe('parseDf', () => {
  it('reads size, used and available bytes from df -B1 --output=size,used,avail', () => {
    expect(parseDf('  1B-blocks        Used       Avail\n31526391808  2614722560 27279560704\n')).toEqual({
      sizeBytes: 31526391808,
      usedBytes: 2614722560,
      availableBytes: 27279560704,
    });
    expect(parseDf('df: /: No such file or directory\n')).toBeNull();
    expect(parseDf('')).toBeNull();
  });
});

describe('diskCheck', () => {
  it('passes below 80 %, warns from 80 %, fails from 95 % of what users can fill', async () => {
    expect((await diskCheck(probe({ sizeBytes: 30 * GB, usedBytes: 10 * GB, availableBytes: 18.5 * GB }), facts)).status).toBe('pass');
    expect((await diskCheck(probe({ sizeBytes: 30 * GB, usedBytes: 23 * GB, availableBytes: 5.5 * GB }), facts)).status).toBe('warn');
    const full = await diskCheck(probe({ sizeBytes: 30 * GB, usedBytes: 27.2 * GB, availableBytes: 1.3 * GB }), facts);
    expect(full.status).toBe('fail');
    expect(full.action).toMatch(/larger plan/);
  });

  it('is "could not check" when the server cannot be asked, never a failure', async () => {
    expect((await diskCheck(probe(new Error('connect ECONNREFUSED')), facts)).status).toBe('unknown');
    expect((await diskCheck(probe(new Error('x')), { server: { sshHostKeyFingerprint: null, ipv4: null } } as unknown as DnsFacts)).status).toBe('unknown');
  });
});
