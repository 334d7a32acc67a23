/**
 * The version of the mail stack: a digest of everything that makes a server's tree apart from
 * the server's own values (the manifest, every template's text, the package list), with the
 * mailplane release that first rendered it. Servers on the same version got the same stack,
 * which is what "120 servers on X, 3 on W" counts. A version is stored whole (stack_versions)
 * the first time a server gets it, so a failed rollout can render the previous one again.
 */
import { createHash } from 'node:crypto';
import { eq } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.ts';
import { stackVersions } from '../db/schema/index.ts';
import { TEMPLATE_MANIFEST, type TemplateEntry } from './manifest.ts';
import { MAIL_STACK_PACKAGES } from './packages.ts';
import { bundledTemplates, type TemplateSet } from './render.ts';

export interface StackSnapshot {
  version: string;
  release: string;
  manifest: TemplateEntry[];
  templates: Record<string, string>;
  packages: string[];
}

/** What renders the stack mailplane would give a server now. */
export interface StackSource {
  current(): StackSnapshot;
}

export function stackDigest(manifest: readonly TemplateEntry[], templates: Readonly<Record<string, string>>, packages: readonly string[]): string {
  const hash = createHash('sha256');
  // Length-prefixed fields: no two different inputs hash the same by shifting a boundary.
  const field = (s: string) => hash.update(`${Buffer.byteLength(s)}:${s}`);
  for (const e of manifest) {
    field(e.template);
    field(e.path);
    field(String(e.mode));
    field(e.secret ? 'secret' : '');
    field(templates[e.template] ?? '');
  }
  for (const p of packages) field(p);
  return hash.digest('hex').slice(0, 16);
}

/**
 * Reads the templates each time it is asked, so a changed template (a new release, or an
 * operator's MAILSTACK_TEMPLATES_DIR) is the current version at once.
 */
export function stackSource(opts: { dir?: URL; release: string }): StackSource {
  return {
    current() {
      const set = bundledTemplates(opts.dir);
      const manifest = TEMPLATE_MANIFEST.map((e) => ({ ...e }));
      const templates = Object.fromEntries(manifest.map((e) => [e.template, set.text(e.template)]));
      const packages = [...MAIL_STACK_PACKAGES];
      return { version: stackDigest(manifest, templates, packages), release: opts.release, manifest, templates, packages };
    },
  };
}

export function templateSetOf(snapshot: Pick<StackSnapshot, 'manifest' | 'templates'>): TemplateSet {
  return {
    manifest: snapshot.manifest,
    text(template) {
      const text = snapshot.templates[template];
      if (text === undefined) throw new Error(`stack version has no template ${template}`);
      return text;
    },
  };
}

/** Stores a version the first time it is applied (its content never changes: the id is its digest). */
export async function saveStackVersion(db: DbOrTx, s: StackSnapshot): Promise<void> {
  await db
    .insert(stackVersions)
    .values({ id: s.version, release: s.release, manifest: s.manifest, templates: s.templates, packages: s.packages })
    .onConflictDoNothing({ target: stackVersions.id });
}

export async function loadStackVersion(db: DbOrTx, version: string): Promise<StackSnapshot | null> {
  const [row] = await db.select().from(stackVersions).where(eq(stackVersions.id, version));
  return row ? { version: row.id, release: row.release, manifest: row.manifest, templates: row.templates, packages: row.packages } : null;
}
