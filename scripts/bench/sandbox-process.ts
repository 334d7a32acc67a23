/**
 * The sandbox in its own process, with a latency profile: the emulators
 * (SSH hosts, Scaleway, Cloudflare, DNS, Stripe) then neither steal the
 * measured worker's event loop nor get delayed by it, as real providers
 * would not. Driven by the parent over IPC (sandbox-client.ts).
 *
 *   argv[2]: JSON { profile: LatencyProfile, realHosts?: { cacheDir, mirror } } (real Debian machines)
 *   → { type: 'ready', env }            once the emulators listen
 *   ← { id, op: 'setWebhookUrl', url }  → { id, ok: true }
 *   ← { id, op: 'completeCheckout', sessionId } → { id, ok: true, status }
 *   ← { id, op: 'dnsQueries' }          → { id, ok: true, dns: { dnsbl, other } }: questions the DNS
 *                                          emulator received since the last call (its log is emptied)
 *   ← { id, op: 'stop' }                → { id, ok: true }, then exits
 */
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_DNSBL_ZONES } from '../../src/providers/lookup/dnsbl-zones.ts';
import { applySandboxSettings } from '../../src/sandbox/person-settings.ts';
import { Sandbox } from '../../src/sandbox/sandbox.ts';
import type { LatencyProfile } from './profile.ts';

interface Request {
  id: number;
  op: string;
  url?: string;
  sessionId?: string;
}

const send = (message: unknown) => process.send!(message);

const { profile, realHosts } = JSON.parse(process.argv[2] ?? '{}') as { profile: LatencyProfile; realHosts?: { cacheDir: string; mirror: string } };
const dataDir = await mkdtemp(join(tmpdir(), 'mailplane-bench-sandbox-'));
await chmod(dataDir, 0o755);
const sandbox = new Sandbox({
  compute: true,
  dns: true,
  billing: true,
  dataDir,
  dnsblZones: DEFAULT_DNSBL_ZONES,
  scaleway: { bootDelayMs: profile.bootDelayMs, faults: { latencyMs: profile.scalewayApiMs } },
  sshBehaviour: { delayMs: profile.sshCommandMs, scriptDelayMs: profile.scriptMs },
  ...(realHosts ? { realHosts } : {}),
});
await sandbox.start();
// Connected as the product connects its sandbox (hosts' addresses, reverse checks), with the defaults.
applySandboxSettings(sandbox, { smtpBlocked: false, zoneActivation: 'immediate' });
sandbox.cloudflare!.faults.set({ latencyMs: profile.cloudflareApiMs });
sandbox.dns!.setLatency(profile.dnsMs);
for (const [zone, ms] of Object.entries(profile.dnsblZoneMs)) sandbox.dns!.setLatency(ms, zone);

const dnsblSuffixes = DEFAULT_DNSBL_ZONES.map((z) => `.${z.toLowerCase()}`);

let stopping: Promise<void> | null = null;
const stop = () => (stopping ??= sandbox.stop().then(() => rm(dataDir, { recursive: true, force: true })));

process.on('message', (raw) => {
  const req = raw as Request;
  void (async () => {
    try {
      switch (req.op) {
        case 'setWebhookUrl':
          sandbox.stripe!.setWebhookUrl(req.url!);
          return send({ id: req.id, ok: true });
        case 'completeCheckout': {
          const delivery = await sandbox.stripe!.completeCheckout(req.sessionId!);
          return send({ id: req.id, ok: true, status: delivery.status });
        }
        case 'dnsQueries': {
          const asked = sandbox.dns!.queries.splice(0);
          const dnsbl = asked.filter((q) => dnsblSuffixes.some((z) => q.name.toLowerCase().replace(/\.$/, '').endsWith(z))).length;
          return send({ id: req.id, ok: true, dns: { dnsbl, other: asked.length - dnsbl } });
        }
        case 'stop':
          await stop();
          send({ id: req.id, ok: true });
          return process.disconnect();
        default:
          return send({ id: req.id, ok: false, error: `unknown op ${req.op}` });
      }
    } catch (err) {
      send({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) });
    }
  })();
});
// The parent went away without saying stop: clean up anyway.
process.on('disconnect', () => void stop().finally(() => process.exit(0)));

send({ type: 'ready', env: sandbox.env() });
