/**
 * Mail client setup as a client meets it: the server's own nginx, started
 * here from the rendered configuration (on loopback ports, with a throwaway
 * certificate), answers Outlook's Autodiscover POST and Thunderbird's
 * autoconfig GET, and a real XML parser reads the answers back: well formed,
 * in the right schema, naming the mail host with the ports the server offers.
 * The SRV records (RFC 6186) that say the same through DNS are checked beside.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { desiredRecords } from '../../../provisioning/dns-records.ts';
import { renderServerTree } from '../../../src/mailstack/render.ts';
import { writeRenderedTree } from '../../../src/mailstack/write-tree.ts';
import { sampleServer } from '../../unit/mailstack/sample-server.ts';
import { findProgram, run, toolsRequired } from '../../support/real-tools.ts';
import { freePort } from '../../support/free-port.ts';

const OUTLOOK_REQUEST = `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006">
  <Request><EMailAddress>alice@example.com</EMailAddress>
  <AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request>
</Autodiscover>`;

let tmp: string;
let conf: string;
let port: number;
const nginx = findProgram('nginx');
const openssl = findProgram('openssl');
// nginx binds and switches to its worker user: root. Missing pieces skip, except under MAILPLANE_REQUIRE_TOOLS=1 (CI).
const missing = !nginx ? 'nginx (Debian package nginx)' : !openssl ? 'openssl' : process.getuid?.() !== 0 ? 'root' : null;
if (missing && toolsRequired()) throw new Error(`mail client setup test needs ${missing} (MAILPLANE_REQUIRE_TOOLS=1)`);

/** One HTTPS request to the local nginx, with the SNI and Host a client would use. */
function fetchFrom(host: string, method: string, path: string, body?: string): Promise<{ status: number; type: string; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        servername: host,
        method,
        path,
        headers: { host, ...(body ? { 'content-type': 'text/xml' } : {}) },
        rejectUnauthorized: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type'] ?? ''), text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

describe.skipIf(missing !== null)("mail client setup served by the server's nginx", () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), 'mailplane-autodiscover-'));
    const tree = join(tmp, 'tree');
    await writeRenderedTree(renderServerTree(sampleServer()), tree);
    const tls = join(tmp, 'tls');
    mkdirSync(tls);
    mkdirSync(join(tmp, 'log'));
    const cert = run(openssl!, [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '2',
      '-subj',
      '/CN=autodiscover.example.com',
      '-keyout',
      join(tls, 'privkey.pem'),
      '-out',
      join(tls, 'fullchain.pem'),
    ]);
    expect(cert.status, cert.stderr).toBe(0);
    port = await freePort();
    const http = await freePort();
    // The rendered file with this machine's paths and loopback ports; every directive that matters is the server's.
    const text = readFileSync(join(tree, 'etc/nginx/nginx.conf'), 'utf8')
      .replace(/^user www-data;/m, 'user root;')
      .replace(/^\s*listen \[::\]:\d+.*$/gm, '')
      .replace(/listen 443 /g, `listen 127.0.0.1:${port} `)
      .replace(/listen 80 /g, `listen 127.0.0.1:${http} `)
      .replaceAll('/etc/mailplane/tls', tls)
      .replaceAll('/var/log/nginx', join(tmp, 'log'))
      .replaceAll('/run/nginx.pid', join(tmp, 'nginx.pid'))
      .replaceAll('/var/www/', `${tree}/var/www/`);
    conf = join(tmp, 'nginx.conf');
    writeFileSync(conf, text);
    // nginx daemonises once its sockets are bound: when this returns, it answers.
    const started = run(nginx!, ['-e', join(tmp, 'log', 'error.log'), '-p', tmp, '-c', conf]);
    expect(started.status, `${started.stderr}${readFileSync(join(tmp, 'log', 'error.log'), 'utf8')}`).toBe(0);
  });
  afterAll(async () => {
    if (conf) run(nginx!, ['-e', join(tmp, 'log', 'error.log'), '-p', tmp, '-c', conf, '-s', 'stop']);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const parser = new XMLParser({ ignoreAttributes: false });

  it.each(['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml'])(
    "answers Outlook's Autodiscover POST to %s with the POX settings",
    async (path) => {
      const res = await fetchFrom('autodiscover.example.com', 'POST', path, OUTLOOK_REQUEST);
      expect(res.status).toBe(200);
      expect(res.type).toMatch(/^(text|application)\/xml/);
      expect(XMLValidator.validate(res.text)).toBe(true);
      const doc = parser.parse(res.text);
      expect(doc.Autodiscover['@_xmlns']).toBe('http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006');
      const response = doc.Autodiscover.Response;
      expect(response['@_xmlns']).toBe('http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a');
      expect(response.Account).toMatchObject({ AccountType: 'email', Action: 'settings' });
      const protocols = Object.fromEntries((response.Account.Protocol as Array<Record<string, unknown>>).map((p) => [p['Type'], p]));
      expect(protocols['IMAP']).toMatchObject({ Server: 'mail.example.com', Port: 993, SSL: 'on', SPA: 'off', AuthRequired: 'on' });
      expect(protocols['SMTP']).toMatchObject({ Server: 'mail.example.com', Port: 465, SSL: 'on', AuthRequired: 'on' });
    },
  );

  it('refuses other methods there, and serves nothing else on the setup names', async () => {
    expect((await fetchFrom('autodiscover.example.com', 'DELETE', '/autodiscover/autodiscover.xml')).status).toBe(403);
    expect((await fetchFrom('autodiscover.example.com', 'GET', '/etc/passwd')).status).toBe(404);
  });

  it.each(['/mail/config-v1.1.xml', '/.well-known/autoconfig/mail/config-v1.1.xml'])("answers Thunderbird's autoconfig GET of %s", async (path) => {
    const res = await fetchFrom('autoconfig.example.com', 'GET', `${path}?emailaddress=alice%40example.com`);
    expect(res.status).toBe(200);
    expect(XMLValidator.validate(res.text)).toBe(true);
    const provider = parser.parse(res.text).clientConfig.emailProvider;
    expect(provider.incomingServer).toMatchObject({ '@_type': 'imap', hostname: 'mail.example.com', port: 993, socketType: 'SSL', username: '%EMAILADDRESS%' });
    expect(provider.outgoingServer.map((s: { port: number; socketType: string }) => `${s.port}/${s.socketType}`)).toEqual(['465/SSL', '587/STARTTLS']);
  });
});

describe('RFC 6186 service records', () => {
  it('point clients at the ports the server offers, and say "." for the services it does not', () => {
    const records = desiredRecords({
      domain: 'example.com',
      hostname: 'mail.example.com',
      ipv4: '203.0.113.10',
      ipv6: null,
      dkim: null,
      sshfpSha256Hex: null,
      dmarcRua: null,
      tlsRptRua: null,
    });
    const srv = Object.fromEntries(records.filter((r) => r.type === 'SRV').map((r) => [r.name, r.content]));
    expect(srv).toEqual({
      '_submissions._tcp.example.com': '0 1 465 mail.example.com',
      '_submission._tcp.example.com': '0 1 587 mail.example.com',
      '_imaps._tcp.example.com': '0 1 993 mail.example.com',
      '_imap._tcp.example.com': '0 0 0 .',
      '_pop3s._tcp.example.com': '0 0 0 .',
      '_pop3._tcp.example.com': '0 0 0 .',
      '_autodiscover._tcp.example.com': '0 1 443 mail.example.com',
    });
    const cnames = records.filter((r) => r.type === 'CNAME').map((r) => r.name);
    expect(cnames).toEqual(expect.arrayContaining(['autoconfig.example.com', 'autodiscover.example.com']));
  });
});
