/** The mailplane release: package.json's version, unless MAILPLANE_RELEASE names one (a build's tag). */
import { readFile } from 'node:fs/promises';

export async function releaseOf(): Promise<string> {
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
  return pkg.version ?? 'unknown';
}
