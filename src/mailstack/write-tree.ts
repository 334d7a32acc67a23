/** Writes a rendered tree under a local directory (DIR + server path), for people and validators. */
import { mkdir, writeFile, chmod } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { RenderedFile } from './render.ts';

export async function writeRenderedTree(files: readonly RenderedFile[], outDir: string): Promise<string[]> {
  const written: string[] = [];
  for (const file of files) {
    const target = join(outDir, file.path);
    await mkdir(dirname(target), { recursive: true });
    await writeFile(target, file.content, { mode: file.mode });
    // writeFile's mode is filtered by the umask and ignored for existing files.
    await chmod(target, file.mode);
    written.push(target);
  }
  return written;
}
