/**
 * The message manifest, computed the way the server's backup-manifest.py does
 * (templates/backup/): per mailbox and folder, each message's sha256 keyed by its
 * Maildir base name without the flags. A drill scans a restored snapshot with
 * this and compares it with the manifest the server wrote at backup time.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { BackupManifest } from '../db/schema/index.ts';

export const messageKey = (name: string) => name.split(':', 1)[0]!;

async function entries(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

const isDir = async (path: string) => (await stat(path).catch(() => null))?.isDirectory() ?? false;

async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Folder name → directory: the Maildir itself is INBOX, `.Name` subdirectories the others (Maildir++). */
async function folders(maildir: string): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [['INBOX', maildir]];
  for (const entry of await entries(maildir)) {
    if (entry.startsWith('.') && entry.length > 1 && (await isDir(join(maildir, entry)))) out.push([entry.slice(1), join(maildir, entry)]);
  }
  return out;
}

/** `createdAt`: when the scan was made, as the caller's clock says. */
export async function scanMailRoot(root: string, createdAt: Date): Promise<BackupManifest> {
  const mailboxes: BackupManifest['mailboxes'] = {};
  for (const domain of await entries(root)) {
    if (domain.startsWith('.') || !(await isDir(join(root, domain)))) continue;
    for (const user of await entries(join(root, domain))) {
      const maildir = join(root, domain, user, 'Maildir');
      if (!(await isDir(maildir))) continue;
      const box: BackupManifest['mailboxes'][string] = {};
      for (const [folder, path] of await folders(maildir)) {
        const messages: Record<string, string> = {};
        for (const sub of ['new', 'cur']) {
          for (const name of await entries(join(path, sub))) messages[messageKey(name)] = await sha256File(join(path, sub, name));
        }
        const sorted = Object.fromEntries(Object.entries(messages).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
        box[folder] = { count: Object.keys(sorted).length, messages: sorted };
      }
      mailboxes[`${user}@${domain}`] = box;
    }
  }
  return { version: 1, createdAt: createdAt.toISOString().replace(/\.\d{3}Z$/, 'Z'), root, mailboxes };
}

export interface FolderComparison {
  mailbox: string;
  folder: string;
  expected: number;
  found: number;
  /** At most a few keys each, for the report. */
  missing: string[];
  differing: string[];
}

export interface ManifestComparison {
  passed: boolean;
  messagesCompared: number;
  folders: FolderComparison[];
}

const SAMPLE = 5;

/**
 * Every message the manifest names must be in the restore with the same content.
 * Messages that arrived after the manifest was written (also in the snapshot) are
 * not a failure: the manifest is what the server had when the backup began.
 */
export function compareManifests(expected: BackupManifest, restored: BackupManifest): ManifestComparison {
  const folders: FolderComparison[] = [];
  let compared = 0;
  for (const [mailbox, box] of Object.entries(expected.mailboxes)) {
    for (const [folder, entry] of Object.entries(box)) {
      const got = restored.mailboxes[mailbox]?.[folder]?.messages ?? {};
      const missing: string[] = [];
      const differing: string[] = [];
      let found = 0;
      for (const [key, sha] of Object.entries(entry.messages)) {
        compared++;
        if (!(key in got)) missing.push(key);
        else if (got[key] !== sha) differing.push(key);
        else found++;
      }
      if (entry.count !== Object.keys(entry.messages).length) differing.push(`(count ${entry.count} ≠ ${Object.keys(entry.messages).length} listed)`);
      folders.push({ mailbox, folder, expected: entry.count, found, missing: missing.slice(0, SAMPLE), differing: differing.slice(0, SAMPLE) });
    }
  }
  const passed = folders.every((f) => f.missing.length === 0 && f.differing.length === 0);
  return { passed, messagesCompared: compared, folders };
}
