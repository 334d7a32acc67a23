/** Shared pieces of route definitions: documented error responses and bodies. */
import { z } from '@hono/zod-openapi';

export const ProblemSchema = z
  .object({
    type: z.string(),
    title: z.string(),
    status: z.number().int(),
    detail: z.string().optional(),
    instance: z.string().optional(),
    code: z.string(),
    requestId: z.string().optional(),
    errors: z.array(z.object({ path: z.string(), message: z.string() })).optional(),
  })
  .openapi('Problem');

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid request (validation failed or malformed body)',
  401: 'Not authenticated',
  403: 'Authenticated but not allowed',
  404: 'Not found (or not visible to the caller)',
  409: 'Conflict with the current state',
  410: 'Gone (a single-use link already used, or expired)',
  413: 'Body too large',
  422: 'Understood but refused (e.g. an import source that is not a public address)',
  429: 'Rate limited; see Retry-After',
  502: 'A service behind mailplane failed (object storage, restic)',
  503: 'A lookup mailplane needs failed for now; try again',
};

export function problems(...statuses: number[]) {
  return Object.fromEntries(
    [...new Set([400, 429, ...statuses])].map((s) => [
      s,
      { description: DESCRIPTIONS[s] ?? 'Error', content: { 'application/problem+json': { schema: ProblemSchema } } },
    ]),
  );
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { required: true, content: { 'application/json': { schema } } } as const;
}

export function jsonResponse<T extends z.ZodType>(schema: T, description: string) {
  return { description, content: { 'application/json': { schema } } } as const;
}

export const bearer = [{ bearerAuth: [] }];

/**
 * An id in a path: a UUID (any case, as PostgreSQL reads it). Anything else names nothing and is
 * answered 404 by the app's validation hook before a query runs, exactly as an unknown id is, so
 * a malformed id never reaches SQL (where it was `invalid input syntax for type uuid`, a 500).
 */
export const pathId = (name: string) => z.uuid().openapi({ param: { name, in: 'path' }, example: '6f1c2b8e-4d3a-4c55-9e1f-0a7b3c9d2e10' });

export const WorkspaceParam = z.object({ ws: pathId('ws') });
export const ServerParams = WorkspaceParam.extend({ id: pathId('id') });

export const Email = z.string().trim().toLowerCase().pipe(z.email().max(254));
