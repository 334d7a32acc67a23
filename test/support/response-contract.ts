/**
 * Every answer a test harness receives is checked against the schema its route documents in
 * /openapi.json (the zod schema behind it): a handler whose output drifts from the documented shape
 * fails the test that called it, instead of a client that trusted the document.
 *
 * Checked: a documented status whose documented content type (application/json, or
 * application/problem+json for errors) has a zod schema. Not checked: statuses a route does not
 * document (the fuzz test owns that question) and bodies that are not JSON.
 */
import type { OpenAPIHono } from '@hono/zod-openapi';

interface SchemaLike {
  safeParse(value: unknown): { success: true } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}
type Responses = Record<string, { content?: Record<string, { schema?: unknown }> }>;
interface DocumentedRoute {
  method: string;
  template: string;
  pattern: RegExp;
  responses: Responses;
}

export class ResponseContractError extends Error {}

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const isSchema = (s: unknown): s is SchemaLike => typeof (s as SchemaLike | undefined)?.safeParse === 'function';

export function responseContract(app: OpenAPIHono<any>) {
  const routes: DocumentedRoute[] = app.openAPIRegistry.definitions
    .flatMap((d) => (d.type === 'route' ? [d.route] : []))
    .map((r) => ({
      method: r.method.toUpperCase(),
      template: r.path,
      pattern: new RegExp(
        `^${r.path
          .split(/\{[^}]+\}/)
          .map(escapeRegExp)
          .join('[^/]+')}$`,
      ),
      responses: r.responses as Responses,
    }))
    // A fixed segment wins over a parameter (`/servers/recheck` before `/servers/{id}`).
    .sort((a, b) => (a.template.match(/\{/g)?.length ?? 0) - (b.template.match(/\{/g)?.length ?? 0));

  /** Throws when a documented JSON answer does not match its documented schema. */
  return function check(method: string, url: string, status: number, contentType: string | null, body: unknown): void {
    const path = url.split('?')[0]!;
    const route = routes.find((r) => r.method === method.toUpperCase() && r.pattern.test(path));
    const type = (contentType ?? '').split(';')[0]!.trim();
    const schema = route?.responses[String(status)]?.content?.[type]?.schema;
    if (!route || !isSchema(schema)) return;
    const result = schema.safeParse(body);
    if (result.success) return;
    const issues = result.error.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`);
    throw new ResponseContractError(
      `${method} ${route.template} answered ${status} with a body that does not match its documented schema: ${issues.join('; ')}\n${JSON.stringify(body).slice(0, 2000)}`,
    );
  };
}
