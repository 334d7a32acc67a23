import { describe, expect, it } from 'vitest';
import { compareManifests } from '../../../src/backups/manifest.ts';
import { backupMinuteOfDay, drillDay, nextScheduledBackup } from '../../../src/backups/schedule.ts';

const ids = Array.from({ length: 14_400 }, (_, i) => `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`);

describe('backup schedule', () => {
  it('spreads the daily backups over the whole day, each server keeping its minute', () => {
    const perHour = new Array(24).fill(0);
    for (const id of ids) perHour[Math.floor(backupMinuteOfDay(id) / 60)]++;
    // 600 per hour on average; none carries more than 1.2× or less than 0.8× of it.
    expect(Math.max(...perHour)).toBeLessThan(720);
    expect(Math.min(...perHour)).toBeGreaterThan(480);
    expect(backupMinuteOfDay(ids[7]!)).toBe(backupMinuteOfDay(ids[7]!));
    const days = new Array(7).fill(0);
    for (const id of ids) days[drillDay(id)]++;
    expect(Math.min(...days)).toBeGreaterThan(1600);
  });

  it("names the next backup at the server's minute, today if still ahead, else tomorrow", () => {
    const id = ids[3]!;
    const minute = backupMinuteOfDay(id);
    const midnight = Date.UTC(2026, 11, 7);
    expect(nextScheduledBackup(id, midnight).getTime()).toBe(midnight + minute * 60_000);
    expect(nextScheduledBackup(id, midnight + minute * 60_000 + 1).getTime()).toBe(midnight + 86_400_000 + minute * 60_000);
  });
});

describe('manifest comparison', () => {
  const manifest = (messages: Record<string, string>) => ({
    version: 1 as const,
    createdAt: '2026-12-07T00:00:00Z',
    mailboxes: { 'a@example.com': { INBOX: { count: Object.keys(messages).length, messages } } },
  });

  it('passes when every message of the manifest is restored with its content, extra new mail included', () => {
    expect(compareManifests(manifest({ m1: 'aa', m2: 'bb' }), manifest({ m1: 'aa', m2: 'bb', m3: 'cc' }))).toMatchObject({ passed: true, messagesCompared: 2 });
  });

  it('fails on a missing or different message, naming it', () => {
    const result = compareManifests(manifest({ m1: 'aa', m2: 'bb' }), manifest({ m1: 'ab' }));
    expect(result.passed).toBe(false);
    expect(result.folders[0]).toMatchObject({ mailbox: 'a@example.com', folder: 'INBOX', expected: 2, found: 0, missing: ['m2'], differing: ['m1'] });
  });

  it('fails when a whole folder or mailbox is gone', () => {
    const restored = { version: 1 as const, createdAt: 'x', mailboxes: {} };
    expect(compareManifests(manifest({ m1: 'aa' }), restored).passed).toBe(false);
  });
});
