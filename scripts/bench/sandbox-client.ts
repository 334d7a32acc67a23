/** The parent's side of sandbox-process.ts: start it, call it, stop it. */
import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { LatencyProfile } from './profile.ts';

export interface RemoteSandbox {
  /** Credentials, API URLs, DNS_RESOLVERS and SANDBOX_URL for the product. */
  env: Record<string, string>;
  setWebhookUrl(url: string): Promise<void>;
  /** The customer pays; resolves to the HTTP status the product's webhook answered. */
  completeCheckout(sessionId: string): Promise<number>;
  /** DNS questions the sandbox's DNS server received since the last call, DNSBL zones apart. */
  dnsQueries(): Promise<{ dnsbl: number; other: number }>;
  stop(): Promise<void>;
}

interface Reply {
  id?: number;
  type?: string;
  ok?: boolean;
  error?: string;
  status?: number;
  env?: Record<string, string>;
  dns?: { dnsbl: number; other: number };
}

export async function startRemoteSandbox(profile: LatencyProfile, realHosts?: { cacheDir: string; mirror: string }): Promise<RemoteSandbox> {
  const child: ChildProcess = fork(fileURLToPath(new URL('./sandbox-process.ts', import.meta.url)), [JSON.stringify({ profile, realHosts })], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const pending = new Map<number, { resolve: (r: Reply) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const env = await new Promise<Record<string, string>>((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`sandbox process exited (${code}) before it was ready`)));
    child.on('message', (raw) => {
      const msg = raw as Reply;
      if (msg.type === 'ready') return resolve(msg.env!);
      const waiter = msg.id !== undefined ? pending.get(msg.id) : undefined;
      if (!waiter) return;
      pending.delete(msg.id!);
      if (msg.ok) waiter.resolve(msg);
      else waiter.reject(new Error(`sandbox: ${msg.error}`));
    });
  });
  const call = (op: string, args: Record<string, unknown> = {}) =>
    new Promise<Reply>((resolve, reject) => {
      const id = nextId++;
      pending.set(id, { resolve, reject });
      child.send({ id, op, ...args });
    });
  return {
    // Real machines behind the instances: the product must know (backups and probes run for real, not simulated).
    env: realHosts ? { ...env, SANDBOX_HOSTS: 'container', SANDBOX_HOSTS_CACHE_DIR: realHosts.cacheDir } : env,
    setWebhookUrl: async (url) => void (await call('setWebhookUrl', { url })),
    completeCheckout: async (sessionId) => (await call('completeCheckout', { sessionId })).status!,
    dnsQueries: async () => (await call('dnsQueries')).dns!,
    stop: async () => {
      if (child.connected) await call('stop');
      await exited;
    },
  };
}
