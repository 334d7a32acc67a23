/**
 * Standing "on the internet" of the real-host sandbox: commands run inside its
 * router namespace, where a mail server is seen as any other host would see
 * it. The judges are real programs (swaks, openssl, curl, testssl.sh), never
 * mailplane's own code.
 */
import { execFile } from 'node:child_process';

export interface Outcome {
  code: number;
  stdout: string;
  stderr: string;
  output: string;
}

export const INTERNET_NS = 'mp-inet';

/** Runs argv in the sandbox internet; never throws for a non-zero exit (the judge reads the outcome). */
export function inInternet(argv: string[], opts: { timeoutMs?: number; input?: string } = {}): Promise<Outcome> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'ip',
      ['netns', 'exec', INTERNET_NS, ...argv],
      { timeout: opts.timeoutMs ?? 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
        if (err && code === -1 && !stdout && !stderr) {
          reject(err);
          return;
        }
        resolve({ code, stdout: String(stdout), stderr: String(stderr), output: `${String(stdout)}${String(stderr)}` });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

/** A second source address in the sandbox internet: a client that fail2ban may ban without locking the judges out. */
export async function extraClientAddress(address: string): Promise<string> {
  await inInternet(['ip', 'addr', 'replace', `${address}/32`, 'dev', 'mpbr0']);
  return address;
}

export interface SwaksOptions {
  server: string;
  port?: number;
  from?: string;
  to?: string;
  tls?: 'starttls' | 'wrapper';
  auth?: { user: string; password: string };
  quitAfter?: 'CONNECT' | 'EHLO' | 'TLS' | 'AUTH' | 'MAIL' | 'RCPT';
  helo?: string;
  localAddress?: string;
  header?: Record<string, string>;
  body?: string;
  /** Seconds swaks waits for each reply (Dovecot delays failed logins more with every failure). */
  timeoutSeconds?: number;
}

/** swaks, the SMTP swiss army knife: exit 0 when the transaction went as far as asked. */
export function swaks(o: SwaksOptions): Promise<Outcome> {
  const argv = [
    'swaks',
    '--server',
    o.server,
    '--port',
    String(o.port ?? 25),
    '--helo',
    o.helo ?? 'judge.example.net',
    '--timeout',
    String(o.timeoutSeconds ?? 30),
  ];
  if (o.from) argv.push('--from', o.from);
  if (o.to) argv.push('--to', o.to);
  if (o.tls === 'starttls') argv.push('--tls');
  if (o.tls === 'wrapper') argv.push('--tlsc');
  if (o.auth) argv.push('--auth', 'PLAIN', '--auth-user', o.auth.user, '--auth-password', o.auth.password);
  if (o.quitAfter) argv.push('--quit-after', o.quitAfter);
  if (o.localAddress) argv.push('--local-interface', o.localAddress);
  for (const [k, v] of Object.entries(o.header ?? {})) argv.push('--header', `${k}: ${v}`);
  if (o.body) argv.push('--body', o.body);
  return inInternet(argv, { timeoutMs: ((o.timeoutSeconds ?? 30) * 3 + 30) * 1000 });
}

/** The server's reply codes in a swaks transcript ("<~ 554 5.7.1 …" lines), in order. */
export function replies(transcript: string): string[] {
  return transcript
    .split('\n')
    .filter((l) => /^\s*<[~*-]*\s+\d{3}[ -]/.test(l))
    .map((l) => l.replace(/^\s*<[~*-]*\s+/, '').trim());
}
