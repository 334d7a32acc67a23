/**
 * The SSH adapter (node-ssh, pinned host key) against the SSH host emulator
 * on 127.0.0.1. Hosts are built the way create_server builds them: an
 * Ed25519 host key and deploy key, rendered into cloud-init user data.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BaseAgent, Client, utils, type ParsedKey } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEd25519KeyPair, type SshKeyPair } from '../../../src/crypto/ssh-keys.ts';
import { renderCloudInit } from '../../../src/mailstack/cloud-init.ts';
import {
  RemoteCommandError,
  RemoteCommandTimeoutError,
  SshAuthRefusedError,
  SshHostKeyMismatchError,
  SshUnreachableError,
  type RemoteSession,
  type SshTarget,
} from '../../../src/providers/ssh/interface.ts';
import { asRoot, createSshRemote } from '../../../src/providers/ssh/node-ssh.ts';
import { SshHostEmulator } from '../../../src/sandbox/ssh/emulator.ts';
import { BOOTSTRAP_USER, DEPLOY_USER, SCRIPT_DIR } from '../../../provisioning/remote.ts';

interface TestHost {
  id: string;
  address: string;
  hostname: string;
  hostKey: SshKeyPair;
  deployKey: SshKeyPair;
  cloudInit: string;
}

let hostSeq = 0;
function makeHost(deployUser = BOOTSTRAP_USER, sudoRule = true): TestHost {
  const n = ++hostSeq;
  const hostname = `mx${n}.example.com`;
  const hostKey = generateEd25519KeyPair(`root@${hostname}`);
  const deployKey = generateEd25519KeyPair(`mailplane@host-${n}`);
  const cloudInit = renderCloudInit({
    hostname,
    hostKeys: { ed25519Private: hostKey.privateKeyOpenSsh, ed25519Public: hostKey.publicKeyOpenSsh },
    deployPublicKey: deployKey.publicKeyOpenSsh,
    deployUser,
  });
  // A user cloud-init gives no sudo rule (the emulator reads cloud-init's `sudo` as a real host's sudoers).
  const withoutSudo = sudoRule ? cloudInit : cloudInit.replace(/^ +sudo: .*\n/m, '');
  return { id: `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`, address: `203.0.113.${n}`, hostname, hostKey, deployKey, cloudInit: withoutSudo };
}

let rootDir: string;
const hosts = new Map<string, TestHost>();
let emulator: SshHostEmulator;
const remote = createSshRemote();

function newEmulator(): SshHostEmulator {
  return new SshHostEmulator({
    rootDir,
    resolveHost: (address) => {
      const host = hosts.get(address);
      return host ? { id: host.id, hostname: host.hostname, cloudInit: host.cloudInit } : null;
    },
  });
}

function addHost(deployUser = BOOTSTRAP_USER, sudoRule = true): TestHost {
  const host = makeHost(deployUser, sudoRule);
  hosts.set(host.address, host);
  return host;
}

async function targetFor(host: TestHost, overrides: Partial<SshTarget> = {}, via = emulator): Promise<SshTarget> {
  return {
    ...(await via.endpointFor(host.address)),
    username: BOOTSTRAP_USER,
    privateKey: host.deployKey.privateKeyOpenSsh,
    hostKeyFingerprint: host.hostKey.fingerprintSha256,
    readyTimeoutMs: 10_000,
    ...overrides,
  };
}

async function withSession<T>(host: TestHost, fn: (s: RemoteSession) => Promise<T>): Promise<T> {
  const session = await remote.connect(await targetFor(host));
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

const script = (name: string) => `bash ${SCRIPT_DIR}/${name}`;
const SCRIPT_FILES = ['install-mail-stack.sh', 'harden.sh', 'issue-tls.sh', 'tls-spki.sh', 'verify-services.sh', 'apply-mailboxes.sh'].map((name) => ({
  path: `${SCRIPT_DIR}/${name}`,
  content: `#!/bin/bash\n# ${name}\n`,
  mode: 0o755,
}));
const MAIL_TREE = [...SCRIPT_FILES, { path: '/etc/postfix/main.cf', content: 'myhostname = mx\n', mode: 0o644 }];

beforeAll(async () => {
  rootDir = await mkdtemp(join(tmpdir(), 'mailplane-ssh-'));
  emulator = newEmulator();
});

afterAll(async () => {
  await emulator?.stop();
  if (rootDir) await rm(rootDir, { recursive: true, force: true });
});

describe('connecting', () => {
  it('connects with the pinned host key and the deploy key; hostname answers the fqdn from cloud-init', async () => {
    const host = addHost();
    const out = await withSession(host, (s) => s.exec('hostname'));
    expect(out).toEqual({ code: 0, stdout: `${host.hostname}\n`, stderr: '' });
    expect(emulator.commands(host.id)).toMatchObject([{ command: 'hostname', stdin: '', exitCode: 0 }]);
  });

  it('boots a host once when its endpoint is asked for concurrently', async () => {
    const host = addHost();
    const [a, b] = await Promise.all([emulator.endpointFor(host.address), emulator.endpointFor(host.address)]);
    expect(a).toEqual(b);
    expect(a.host).toBe('127.0.0.1');
  });

  it('refuses a host presenting another key than the pinned one, without retry', async () => {
    const host = addHost();
    const other = generateEd25519KeyPair('someone-else');
    const err = await remote.connect(await targetFor(host, { hostKeyFingerprint: other.fingerprintSha256 })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshHostKeyMismatchError);
    expect((err as SshHostKeyMismatchError).retryable).toBe(false);
    expect((err as SshHostKeyMismatchError).detail).toContain(host.hostKey.fingerprintSha256);
  });

  it('refuses a deploy key that is not in the authorized keys', async () => {
    const host = addHost();
    const stranger = generateEd25519KeyPair('stranger');
    const err = await remote.connect(await targetFor(host, { privateKey: stranger.privateKeyOpenSsh })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshAuthRefusedError);
    expect((err as SshAuthRefusedError).retryable).toBe(false);
  });

  it('refuses the right key for a user it is not authorized for', async () => {
    const host = addHost();
    const err = await remote.connect(await targetFor(host, { username: 'admin' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshAuthRefusedError);
  });

  it('reports a closed port as unreachable and retryable', async () => {
    const host = addHost();
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const err = await remote.connect(await targetFor(host, { port })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SshUnreachableError);
    expect((err as SshUnreachableError).retryable).toBe(true);
  });

  it('has no endpoint for an address where no server runs, nor for user data without a host key', async () => {
    await expect(emulator.endpointFor('198.51.100.99')).rejects.toThrow(/no running server/);
    const host = addHost();
    host.cloudInit = '#cloud-config\nfqdn: broken.example.com\n';
    await expect(emulator.endpointFor(host.address)).rejects.toThrow(/no ssh_keys.ed25519_private/);
  });
});

describe('authentication on the emulator (raw ssh2 client)', () => {
  /** Offers `publicKey` but signs with `signer`: holds the authorized public key, not its private half. */
  class ForgingAgent extends BaseAgent<ParsedKey> {
    private readonly publicKey: ParsedKey;
    private readonly signer: ParsedKey;
    constructor(publicKey: ParsedKey, signer: ParsedKey) {
      super();
      this.publicKey = publicKey;
      this.signer = signer;
    }
    getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
      cb(undefined, [this.publicKey]);
    }
    sign(_key: ParsedKey, data: Buffer, ...rest: unknown[]): void {
      const cb = rest.at(-1) as (err: Error | undefined, signature?: Buffer) => void;
      cb(undefined, this.signer.sign(data) as Buffer);
    }
  }

  function rawConnect(host: TestHost, port: number, auth: Record<string, unknown>): Promise<'ready'> {
    return new Promise((resolve, reject) => {
      const client = new Client();
      client.on('ready', () => {
        client.end();
        resolve('ready');
      });
      client.on('error', (err) => {
        client.end();
        reject(err);
      });
      client.connect({ host: '127.0.0.1', port, username: BOOTSTRAP_USER, readyTimeout: 10_000, ...auth });
      void host;
    });
  }

  const parse = (text: string) => {
    const key = utils.parseKey(text);
    if (key instanceof Error) throw key;
    return key;
  };

  it('accepts the authorized key through an honest agent (control for the forged signature below)', async () => {
    const host = addHost();
    const { port } = await emulator.endpointFor(host.address);
    const key = parse(host.deployKey.privateKeyOpenSsh);
    await expect(rawConnect(host, port, { agent: new ForgingAgent(key, key) })).resolves.toBe('ready');
  });

  it('refuses an authorized public key whose signature does not verify', async () => {
    const host = addHost();
    const { port } = await emulator.endpointFor(host.address);
    const forged = new ForgingAgent(parse(host.deployKey.privateKeyOpenSsh), parse(generateEd25519KeyPair('forger').privateKeyOpenSsh));
    await expect(rawConnect(host, port, { agent: forged })).rejects.toThrow(/authentication methods failed/);
  });

  it('refuses passwords and keyboard-interactive', async () => {
    const host = addHost();
    const { port } = await emulator.endpointFor(host.address);
    await expect(rawConnect(host, port, { password: 'hunter2', tryKeyboard: true })).rejects.toThrow(/authentication methods failed/);
  });
});

describe('exec', () => {
  it('sends stdin and records it with the command', async () => {
    const host = addHost();
    const stdin = 'alice@example.com\nbob@example.com\n';
    const out = await withSession(host, (s) => s.exec('cat', { stdin }));
    expect(out.stdout).toBe(stdin);
    expect(emulator.commands(host.id)).toMatchObject([{ command: 'cat', stdin, exitCode: 0 }]);
  });

  it('streams output to onOutput chunk by chunk as the script writes it', async () => {
    const host = addHost();
    const chunks: { chunk: string; stream: string }[] = [];
    const out = await withSession(host, async (s) => {
      await s.upload(MAIL_TREE);
      return s.exec(script('install-mail-stack.sh'), { onOutput: (chunk, stream) => chunks.push({ chunk, stream }) });
    });
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.every((c) => c.stream === 'stdout')).toBe(true);
    expect(chunks.map((c) => c.chunk).join('')).toBe(out.stdout);
  });

  it('rejects a non-zero exit with its code and stderr; check:false returns the code instead', async () => {
    const host = addHost();
    await withSession(host, async (s) => {
      const err = await s.exec(script('nope.sh')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect((err as RemoteCommandError).exitCode).toBe(127);
      expect((err as RemoteCommandError).stderr).toBe(`bash: ${SCRIPT_DIR}/nope.sh: No such file or directory\n`);
      const unchecked = await s.exec('frobnicate --now', { check: false });
      expect(unchecked).toEqual({ code: 127, stdout: '', stderr: 'bash: frobnicate: command not found\n' });
    });
  });

  it('times out a slow command, kills it, and the session stays usable', async () => {
    const host = addHost();
    emulator.setBehaviour(host.id, { delayMs: 60_000 });
    await withSession(host, async (s) => {
      const err = await s.exec('hostname', { timeoutMs: 200 }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandTimeoutError);
      expect((err as RemoteCommandTimeoutError).retryable).toBe(true);
      emulator.setBehaviour(host.id, {});
      // The host saw the kill before this command (same connection, in order).
      expect((await s.exec('hostname')).stdout).toBe(`${host.hostname}\n`);
    });
    expect(emulator.commands(host.id).map((c) => [c.command, c.exitCode])).toEqual([
      ['hostname', 137],
      ['hostname', 0],
    ]);
  });

  it('fails the script a test asks to fail', async () => {
    const host = addHost();
    emulator.setBehaviour(host.id, { failScript: 'harden.sh' });
    await withSession(host, async (s) => {
      await s.upload(MAIL_TREE);
      await s.exec(script('install-mail-stack.sh'));
      const err = await s.exec(script('harden.sh')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect((err as RemoteCommandError).exitCode).toBe(1);
    });
  });
});

describe('upload', () => {
  it('writes files with their modes into new nested directories', async () => {
    const host = addHost();
    const files = [
      { path: '/etc/opendkim/keys/example.com/mail.private', content: 'PRIVATE KEY\n', mode: 0o600 },
      { path: '/etc/postfix/main.cf', content: 'myhostname = mx\n', mode: 0o644 },
      { path: `${SCRIPT_DIR}/install-mail-stack.sh`, content: Buffer.from('#!/bin/bash\nset -eu\n'), mode: 0o755 },
    ];
    await withSession(host, (s) => s.upload(files));
    for (const f of files) {
      const stored = await emulator.file(host.id, f.path);
      expect(stored?.content.toString()).toBe(f.content.toString());
      expect(stored?.mode).toBe(f.mode);
    }
  });

  it('replaces an existing file by an atomic rename with the new content and mode, leaving no temp file', async () => {
    const host = addHost();
    const path = '/etc/dovecot/users';
    await withSession(host, (s) => s.upload([{ path, content: 'alice:{ARGON2ID}x\n', mode: 0o644 }]));
    await withSession(host, (s) => s.upload([{ path, content: 'alice:{ARGON2ID}y\nbob:{ARGON2ID}z\n', mode: 0o600 }]));
    expect(await emulator.file(host.id, path)).toEqual({ content: Buffer.from('alice:{ARGON2ID}y\nbob:{ARGON2ID}z\n'), mode: 0o600 });
    const requests = emulator.sftpRequests(host.id);
    expect(requests.filter((r) => r.to === path).map((r) => r.op)).toEqual(['posix-rename', 'posix-rename']);
    expect(requests.some((r) => r.op === 'remove' && r.path === path)).toBe(false);
    expect(await readdir(join(rootDir, host.id, 'fs', 'etc', 'dovecot'))).toEqual(['users']);
  });
});

describe('provisioning scripts', () => {
  it('runs install-mail-stack.sh only once the tree is uploaded', async () => {
    const host = addHost();
    await withSession(host, async (s) => {
      expect((await s.exec(script('install-mail-stack.sh'), { check: false })).code).toBe(127);
      // Scripts without the rendered configuration: the installer refuses.
      await s.upload(SCRIPT_FILES);
      expect((await s.exec(script('install-mail-stack.sh'), { check: false })).code).toBe(1);
      await s.upload(MAIL_TREE);
      expect((await s.exec(script('install-mail-stack.sh'))).code).toBe(0);
    });
    expect((await emulator.state(host.id)).installedAt).toBeTruthy();
  });

  it('keeps the TLS key across issue-tls runs, so the SPKI hash stays the same', async () => {
    const host = addHost();
    await withSession(host, async (s) => {
      await s.upload(MAIL_TREE);
      expect((await s.exec(script('issue-tls.sh'), { check: false })).code).toBe(1); // not installed yet
      expect((await s.exec(script('tls-spki.sh'), { check: false })).code).toBe(1); // no key yet
      await s.exec(script('install-mail-stack.sh'));
      await s.exec(script('issue-tls.sh'));
      const first = (await s.exec(script('tls-spki.sh'))).stdout.trim();
      await s.exec(script('issue-tls.sh'));
      const second = (await s.exec(script('tls-spki.sh'))).stdout.trim();
      expect(first).toMatch(/^[0-9a-f]{64}$/);
      expect(second).toBe(first);
    });
  });

  it('reports every service port once installed with a certificate, and applies mailboxes from the uploaded users file', async () => {
    const host = addHost();
    await withSession(host, async (s) => {
      await s.upload(MAIL_TREE);
      await s.exec(script('install-mail-stack.sh'));
      expect((await s.exec(script('verify-services.sh'), { check: false })).code).toBe(1);
      expect((await s.exec(script('apply-mailboxes.sh'), { check: false })).code).toBe(1); // no users file yet
      await s.exec(script('issue-tls.sh'));
      const report = await s.exec(script('verify-services.sh'));
      expect(report.stdout.trim().split('\n')).toEqual(['smtp 25 ok', 'submission 587 ok', 'submissions 465 ok', 'imaps 993 ok', 'https 443 ok']);
      await s.upload([{ path: '/etc/dovecot/users', content: 'alice:x\n# comment\nbob:y\n', mode: 0o640 }]);
      expect((await s.exec(script('apply-mailboxes.sh'))).stdout).toBe('2 mailbox(es) applied\n');
    });
    expect((await emulator.state(host.id)).mailboxCount).toBe(2);
  });
});

describe('a login other than root', () => {
  it("runs every command as root through sudo -n, quotes and pipes intact, and uploads through sudo's sftp-server", async () => {
    const host = addHost(DEPLOY_USER);
    const session = await remote.connect(await targetFor(host, { username: DEPLOY_USER }));
    try {
      expect((await session.exec('id -u')).stdout).toBe('0\n');
      expect((await session.exec('cat', { stdin: "it's" })).stdout).toBe("it's");
      await session.upload(MAIL_TREE);
      expect((await session.exec(script('install-mail-stack.sh'))).code).toBe(0);
    } finally {
      await session.close();
    }
    expect(emulator.commands(host.id).map((c) => [c.user, c.sudo, c.command])).toEqual([
      [DEPLOY_USER, true, 'id -u'],
      [DEPLOY_USER, true, 'cat'],
      [DEPLOY_USER, true, `bash ${SCRIPT_DIR}/install-mail-stack.sh`],
    ]);
    expect(asRoot("echo 'a b' | tr a-z A-Z", DEPLOY_USER)).toBe(`sudo -n -- bash -c 'echo '\\''a b'\\'' | tr a-z A-Z'`);
    expect(asRoot('hostname', 'root')).toBe('hostname');
  });

  it("refuses an account without a sudo rule: its commands get sudo's refusal and it gets no SFTP", async () => {
    const host = addHost(DEPLOY_USER, false);
    const session = await remote.connect(await targetFor(host, { username: DEPLOY_USER }));
    try {
      const err = await session.exec('id -u').catch((e: unknown) => e);
      expect(err).toBeInstanceOf(RemoteCommandError);
      expect((err as RemoteCommandError).stderr).toMatch(/sudo: a password is required/);
      await expect(session.upload(MAIL_TREE)).rejects.toThrow();
    } finally {
      await session.close();
    }
  });
});

describe('stop', () => {
  it('drops open sessions: the next command fails as unreachable', async () => {
    const own = newEmulator();
    const host = addHost();
    const session = await remote.connect(await targetFor(host, {}, own));
    expect((await session.exec('hostname')).code).toBe(0);
    await own.stop();
    await expect(session.exec('hostname')).rejects.toBeInstanceOf(SshUnreachableError);
    await session.close();
    await expect(own.endpointFor(host.address)).rejects.toThrow(/stopped/);
  });
});
