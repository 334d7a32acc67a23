/** What restore-server.sh prints on its last line: the snapshot restored and the messages now on the host. */
import { z } from 'zod';
import { AppError } from '../errors.ts';

const schema = z.object({ snapshot: z.string(), messages: z.number().int().min(0), simulated: z.boolean().optional() });

export function parseMailRestore(stdout: string): { snapshot: string; messages: number; simulated: boolean } {
  let json: unknown;
  try {
    json = JSON.parse(stdout.trim().split('\n').at(-1) ?? '');
  } catch {
    json = null;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new AppError({ code: 'restore_output_invalid', status: 502, title: 'Restore output unreadable', detail: 'restore-server.sh printed no JSON result' });
  return { ...parsed.data, simulated: parsed.data.simulated ?? false };
}
