/** What every emulated Scaleway route reads first: the zone of its path and its JSON body, refused as the real API does. */
import type { Context } from 'hono';
import { ZONES } from '../../providers/compute/interface.ts';
import { ApiError } from './model.ts';

export function zoneOf(c: Context): string {
  const zone = c.req.param('zone') ?? '';
  if (!(ZONES as readonly string[]).includes(zone)) throw ApiError.invalidArgument('zone', `unknown zone ${zone}`);
  return zone;
}

export async function jsonBody(c: Context): Promise<Record<string, unknown>> {
  try {
    const body: unknown = await c.req.json();
    if (body && typeof body === 'object' && !Array.isArray(body)) return body as Record<string, unknown>;
  } catch {
    // fall through
  }
  throw ApiError.invalid('request body must be a JSON object');
}
