import { describe, expect, it } from 'vitest';
import { parseBackupOutput } from '../../../src/backups/run-backup.ts';

const good = {
  snapshotId: 'a1b2c3d4',
  passes: 1,
  vanished: 0,
  summary: { snapshot_id: 'a1b2c3d4', total_files_processed: 3, total_bytes_processed: 1200, data_added: 800 },
  manifest: {
    version: 1,
    createdAt: '2026-12-07T00:00:00Z',
    root: '/var/vmail',
    mailboxes: { 'a@example.com': { INBOX: { count: 1, messages: { k: 'ab' } } } },
  },
};

describe('what the control plane accepts from backup.sh', () => {
  it('reads the last line of the output as the result', () => {
    expect(parseBackupOutput(`progress\n${JSON.stringify(good)}\n`)).toMatchObject({ snapshotId: 'a1b2c3d4', manifest: { root: '/var/vmail' } });
  });

  it('refuses a result without JSON, with a bad snapshot id, or a manifest root the drill must not restore', () => {
    expect(() => parseBackupOutput('restic printed nothing')).toThrow(/no JSON result/);
    expect(() => parseBackupOutput(JSON.stringify({ ...good, snapshotId: '../../x' }))).toThrow(/backup.sh result/);
    for (const root of ['/var/vmail/../../etc', 'var/vmail', '/var/vmail;rm']) {
      expect(() => parseBackupOutput(JSON.stringify({ ...good, manifest: { ...good.manifest, root } }))).toThrow(/backup.sh result/);
    }
  });
});
