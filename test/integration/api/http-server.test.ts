/**
 * The HTTP server as a real client meets it over a socket: errors that Node's
 * parser raises before Hono runs (431, malformed requests) are problem+json too,
 * and a refused body (413) leaves a keep-alive connection usable.
 */
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { listenHttp, type HttpListener } from '../../../src/api/http-server.ts';
import { createTestApi, type TestApi } from '../../support/api.ts';

let api: TestApi;
let listener: HttpListener;
let agent: http.Agent;
beforeAll(async () => {
  api = await createTestApi({ env: { BODY_LIMIT_BYTES: '2048', RATE_LIMIT_AUTH_PER_MINUTE: '10000' } });
  listener = await listenHttp(api.app, { host: '127.0.0.1', port: 0, log: api.deps.log });
  agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
});
afterAll(async () => {
  agent.destroy();
  await listener.close();
  await api.close();
});

interface Answer {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  reusedSocket: boolean;
  socket: unknown;
}

function request(
  path: string,
  opts: { method?: string; headers?: Record<string, string>; body?: string | Buffer; agent?: http.Agent | false } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(`${listener.url}${path}`, { method: opts.method ?? 'GET', headers: opts.headers, agent: opts.agent ?? agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () =>
        resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks).toString(), reusedSocket: req.reusedSocket, socket: req.socket }),
      );
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

function expectProblem(a: Answer, status: number) {
  expect(a.status).toBe(status);
  expect(a.headers['content-type']).toBe('application/problem+json');
  const body = JSON.parse(a.body);
  expect(body).toMatchObject({ status, type: expect.stringMatching(/^urn:mailplane:problem:/), title: expect.any(String), detail: expect.any(String) });
  return body;
}

describe('errors raised by the HTTP parser', () => {
  it('answers a 20 KB Authorization header with a 431 problem', async () => {
    const a = await request('/v1/me', { headers: { authorization: `Bearer ${'a'.repeat(20_000)}` }, agent: false });
    const body = expectProblem(a, 431);
    expect(body.code).toBe('request_header_fields_too_large');
  });

  it('answers a request line the parser cannot read with a 400 problem', async () => {
    const net = await import('node:net');
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = net.connect(listener.port, '127.0.0.1', () => socket.write('GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header\r\n\r\n'));
      let data = '';
      socket.on('data', (d) => (data += d.toString()));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
    });
    expect(raw).toMatch(/^HTTP\/1\.1 400 /);
    expect(raw).toMatch(/content-type: application\/problem\+json/i);
    expect(JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4))).toMatchObject({ status: 400, code: 'malformed_request' });
  });
});

describe('keep-alive after a refused body', () => {
  it('answers 413 and serves the next request on the same connection', async () => {
    const first = await request('/healthz');
    expect(first.status).toBe(200);
    const big = JSON.stringify({ email: 'big@example.com', password: 'x', name: 'y'.repeat(10_000) });
    const refused = await request('/v1/auth/signup', {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(big)) },
      body: big,
    });
    expectProblem(refused, 413);
    expect(refused.reusedSocket).toBe(true);
    for (let i = 0; i < 5; i++) {
      const next = await request('/healthz');
      expect(next.status).toBe(200);
      expect(next.reusedSocket).toBe(true);
      expect(next.socket).toBe(first.socket);
    }
  });

  it.each([200_000, 1_000_000, 8_000_000])('after refusing a %i-byte body', async (size) => {
    const first = await request('/healthz');
    const refused = await request('/v1/auth/signup', { method: 'POST', headers: { 'content-type': 'application/json' }, body: Buffer.alloc(size, 0x61) });
    expectProblem(refused, 413);
    for (let i = 0; i < 3; i++) {
      const next = await request('/healthz');
      expect(next.status).toBe(200);
      expect(next.socket).toBe(first.socket);
    }
  });

  it('also after a body streamed without Content-Length', async () => {
    const first = await request('/healthz');
    const refused = await new Promise<Answer>((resolve, reject) => {
      const req = http.request(`${listener.url}/v1/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode!,
            headers: res.headers,
            body: Buffer.concat(chunks).toString(),
            reusedSocket: req.reusedSocket,
            socket: req.socket,
          }),
        );
      });
      req.on('error', reject);
      req.write('{"name":"');
      req.write('z'.repeat(500_000));
      req.end(`${'z'.repeat(500_000)}"}`);
    });
    expectProblem(refused, 413);
    const next = await request('/healthz');
    expect(next.status).toBe(200);
    expect(next.socket).toBe(first.socket);
  });
});

describe('a client that goes away in the middle of its body', () => {
  /** Sends the headers and part of the body over a raw socket, then closes (FIN) or resets (RST) it. */
  async function cutShort(path: string, how: 'close' | 'reset', marker: string) {
    const net = await import('node:net');
    const body = `{"email":"${marker}@example.com","password":"`;
    await new Promise<void>((resolve, reject) => {
      const socket = net.connect(listener.port, '127.0.0.1', () => {
        socket.write(
          `POST ${path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1024\r\nX-Request-Id: ${marker}\r\n\r\n${body}`,
          () => {
            if (how === 'reset') socket.resetAndDestroy();
            else socket.end();
            resolve();
          },
        );
      });
      socket.on('error', reject);
    });
    // The request's access-log line is written when the server has finished with it.
    await vi.waitFor(
      () => {
        if (!api.logLines.some((l) => l.includes(`"requestId":"${marker}"`) && l.includes('"msg":"request"'))) throw new Error('not logged yet');
      },
      { timeout: 10_000, interval: 20 },
    );
    return api.logLines.filter((l) => l.includes(`"requestId":"${marker}"`)).map((l) => JSON.parse(l) as { level: number; msg: string; status?: number });
  }

  it.each([
    ['/v1/auth/login', 'reset'],
    ['/v1/auth/login', 'close'],
    ['/v1/auth/signup', 'reset'],
    ['/v1/auth/signup', 'close'],
  ] as const)('on %s (%s) is logged as a client that left (499), never as a server error', async (path, how) => {
    const marker = `cut-${how}-${path.split('/').at(-1)}-0001`;
    const lines = await cutShort(path, how, marker);
    const access = lines.find((l) => l.msg === 'request')!;
    expect(access.status).toBe(499);
    expect(
      lines.filter((l) => l.level >= 40),
      JSON.stringify(lines),
    ).toEqual([]);
    // The server is still serving.
    expect((await request('/healthz')).status).toBe(200);
  });
});
