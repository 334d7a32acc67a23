/**
 * The harnesses' response check (test/support/response-contract.ts): an answer that drifts from its
 * documented schema fails the call, whichever way it drifts; a matching one, an undocumented
 * status and a non-JSON body pass through.
 */
import { createRoute, OpenAPIHono, z } from '@hono/zod-openapi';
import { describe, expect, it } from 'vitest';
import { ResponseContractError, responseContract } from '../../support/response-contract.ts';

const Thing = z.strictObject({ id: z.string(), size: z.number().int() }).openapi('Thing');

function appAnswering(body: unknown) {
  const app = new OpenAPIHono();
  const route = createRoute({
    method: 'get',
    path: '/v1/things/{id}',
    request: { params: z.object({ id: z.string() }) },
    responses: { 200: { description: 'A thing', content: { 'application/json': { schema: Thing } } } },
  });
  // The handler's body is whatever the test says: the check must catch what the types would.
  app.openapi(route, (c) => c.json(body as z.infer<typeof Thing>, 200));
  return app;
}

async function callThrough(body: unknown, status = 200) {
  const app = appAnswering(body);
  const check = responseContract(app);
  const res = await app.request('/v1/things/42?x=1');
  const parsed: unknown = await res.json();
  check('GET', '/v1/things/42?x=1', status, res.headers.get('content-type'), parsed);
}

describe('the response contract', () => {
  it('passes an answer that matches its documented schema', async () => {
    await expect(callThrough({ id: 'a', size: 3 })).resolves.toBeUndefined();
  });

  it('fails an answer missing a documented field, naming the route and the field', async () => {
    await expect(callThrough({ id: 'a' })).rejects.toThrow(/GET \/v1\/things\/\{id\} answered 200 .*size/);
  });

  it('fails an answer with a field of the wrong type', async () => {
    await expect(callThrough({ id: 'a', size: '3' })).rejects.toThrow(ResponseContractError);
  });

  it('fails an answer with a field the schema does not document', async () => {
    await expect(callThrough({ id: 'a', size: 3, secret: 'x' })).rejects.toThrow(/secret/);
  });

  it('leaves statuses the route does not document, other routes and non-JSON bodies alone', () => {
    const check = responseContract(appAnswering({}));
    expect(() => check('GET', '/v1/things/42', 418, 'application/json', { anything: true })).not.toThrow();
    expect(() => check('GET', '/v1/other', 200, 'application/json', { anything: true })).not.toThrow();
    expect(() => check('GET', '/v1/things/42', 200, 'text/plain', 'hello')).not.toThrow();
  });
});
