/**
 * The real probe's judgement of TLS, on loopback servers whose certificates
 * openssl made: a chain to a root it was given is trusted, one it was not
 * given is reported (OpenSSL's own reason), a wrong name is reported, and on
 * SMTP the certificate is read after STARTTLS — or not at all when STARTTLS
 * is not offered. (Real Postfix and nginx judge it in the real-host suite.)
 */
import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer as createTlsServer, TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NetProbe } from '../../../src/health/probe.ts';
import type { DnsLookup } from '../../../src/providers/lookup/interface.ts';

const dir = mkdtempSync(join(tmpdir(), 'net-probe-'));
const noLookup: DnsLookup = { lookup: async () => ({ status: 'nxdomain' }) };
const servers: Server[] = [];
let caPem: string;
let leaf: { key: string; cert: string };

function openssl(args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
}

beforeAll(() => {
  openssl([
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-days',
    '30',
    '-subj',
    '/CN=probe test root',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign',
    '-keyout',
    'ca.key',
    '-out',
    'ca.crt',
  ]);
  openssl([
    'req',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-subj',
    '/CN=mx.probe.test',
    '-keyout',
    'leaf.key',
    '-out',
    'leaf.csr',
  ]);
  writeFileSync(join(dir, 'leaf.ext'), 'subjectAltName=DNS:mx.probe.test\nextendedKeyUsage=serverAuth\n');
  openssl([
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'ca.crt',
    '-CAkey',
    'ca.key',
    '-CAcreateserial',
    '-days',
    '20',
    '-extfile',
    'leaf.ext',
    '-out',
    'leaf.crt',
  ]);
  caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
  leaf = { key: readFileSync(join(dir, 'leaf.key'), 'utf8'), cert: readFileSync(join(dir, 'leaf.crt'), 'utf8') };
});

afterAll(async () => {
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  rmSync(dir, { recursive: true, force: true });
});

async function listen(server: Server): Promise<number> {
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return (server.address() as AddressInfo).port;
}

/** A scripted SMTP server: multi-line greeting and EHLO, STARTTLS only when `offer`. */
function smtpServer(offer: boolean): Server {
  return createNetServer((socket: Socket) => {
    socket.write('220-mx.probe.test ESMTP\r\n220 hello\r\n');
    let buffer = '';
    const onData = (chunk: Buffer) => {
      buffer += chunk.toString();
      const at = buffer.indexOf('\r\n');
      if (at < 0) return;
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      if (/^EHLO /i.test(line)) {
        socket.write(`250-mx.probe.test\r\n250-PIPELINING\r\n${offer ? '250-STARTTLS\r\n' : ''}250 8BITMIME\r\n`);
      } else if (/^STARTTLS$/i.test(line) && offer) {
        socket.off('data', onData);
        socket.write('220 2.0.0 Ready to start TLS\r\n', () => {
          const secure = new TLSSocket(socket, { isServer: true, key: leaf.key, cert: leaf.cert });
          secure.on('error', () => secure.destroy());
        });
      } else {
        socket.write('502 5.5.2 Error: command not recognized\r\n');
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  });
}

const spkiOf = (pem: string) =>
  createHash('sha256')
    .update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' }))
    .digest('hex');

describe('NetProbe', () => {
  it("trusts a chain to a root it was given, and reports OpenSSL's reason for one it was not", async () => {
    const port = await listen(createTlsServer({ key: leaf.key, cert: leaf.cert }));
    const trusting = new NetProbe({ lookup: noLookup, extraCa: [caPem], heloName: 'probe.test' });
    const seen = await trusting.certificate('127.0.0.1', port, 'mx.probe.test');
    expect(seen).toMatchObject({ untrusted: null, names: ['mx.probe.test'], spkiSha256: spkiOf(leaf.cert) });
    expect(seen!.validTo.getTime()).toBe(new Date(new X509Certificate(leaf.cert).validTo).getTime());

    const stranger = await new NetProbe({ lookup: noLookup, heloName: 'probe.test' }).certificate('127.0.0.1', port, 'mx.probe.test');
    expect(stranger?.untrusted).toBe('UNABLE_TO_VERIFY_LEAF_SIGNATURE');
  });

  it('reports a certificate that does not name the host asked for', async () => {
    const port = await listen(createTlsServer({ key: leaf.key, cert: leaf.cert }));
    const seen = await new NetProbe({ lookup: noLookup, extraCa: [caPem], heloName: 'probe.test' }).certificate('127.0.0.1', port, 'other.probe.test');
    expect(seen?.untrusted).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
  });

  it('reads the certificate after SMTP STARTTLS, past multi-line replies', async () => {
    const port = await listen(smtpServer(true));
    const seen = await new NetProbe({ lookup: noLookup, extraCa: [caPem], heloName: 'probe.test' }).certificate('127.0.0.1', port, 'mx.probe.test', 'starttls');
    expect(seen).toMatchObject({ untrusted: null, spkiSha256: spkiOf(leaf.cert) });
  });

  it('reads no certificate from an SMTP server that does not offer STARTTLS, or from a closed port', async () => {
    const probe = new NetProbe({ lookup: noLookup, extraCa: [caPem], heloName: 'probe.test', timeoutMs: 2000 });
    const port = await listen(smtpServer(false));
    expect(await probe.certificate('127.0.0.1', port, 'mx.probe.test', 'starttls')).toBeNull();
    const closed = await listen(createNetServer());
    await new Promise((r) => servers.pop()!.close(r));
    expect(await probe.certificate('127.0.0.1', closed, 'mx.probe.test', 'starttls')).toBeNull();
    expect(await probe.portState('127.0.0.1', closed)).toBe('closed');
  });

  it('finds no MTA-STS policy for a name the resolvers do not know', async () => {
    expect(await new NetProbe({ lookup: noLookup, heloName: 'probe.test' }).mtaStsPolicy('probe.test')).toBeNull();
  });

  it('tells "no route from here" from a closed port, as the kernel answers in a network namespace with no route', (ctx) => {
    // unshare -n: a new network namespace with no address and no route (nothing can leave it).
    if (process.getuid?.() !== 0 || !existsSync('/usr/bin/unshare')) {
      if (process.env['MAILPLANE_REQUIRE_TOOLS'] === '1') throw new Error('needs root and /usr/bin/unshare (util-linux)');
      return ctx.skip();
    }
    const script = `import { NetProbe } from ${JSON.stringify(fileURLToPath(new URL('../../../src/health/probe.ts', import.meta.url)))};
      const p = new NetProbe({ lookup: { lookup: async () => ({ status: 'nxdomain' }) }, heloName: 'probe.test', timeoutMs: 2000 });
      console.log(JSON.stringify([await p.portState('2001:db8::1', 25), await p.portState('192.0.2.1', 25)]));`;
    const out = execFileSync('/usr/bin/unshare', ['-n', '--', process.execPath, '--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(JSON.parse(out)).toEqual(['no-route', 'no-route']);
  });
});
