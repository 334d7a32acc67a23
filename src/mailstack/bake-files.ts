/**
 * What an image bake uploads to its instance: the shared apt helpers and
 * bake-image.sh, rendered with the package list (packages.ts) and its digest.
 */
import { readFileSync } from 'node:fs';
import { SCRIPT_DIR } from './manifest.ts';
import { packageDigest, packageTemplateValues } from './packages.ts';
import { renderTemplate, TEMPLATES_DIR, type RenderedFile } from './render.ts';

export function renderBakeFiles(hostname: string): RenderedFile[] {
  const values = { hostname, packageDigest: packageDigest(), ...packageTemplateValues() };
  return ['apt-lib.sh', 'bake-image.sh'].map((name) => ({
    path: `${SCRIPT_DIR}/${name}`,
    content: renderTemplate(readFileSync(new URL(`scripts/${name}`, TEMPLATES_DIR), 'utf8'), values, `scripts/${name}`),
    mode: 0o755,
  }));
}
