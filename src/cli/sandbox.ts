/**
 * `mailplane sandbox`: the provider emulators alone, for running the API and
 * workers as separate processes against one shared sandbox. Prints the
 * environment those processes need.
 */
import { and, eq, type SQL } from 'drizzle-orm';
import { servers } from '../db/schema/index.ts';
import { sandboxFromConfig } from '../provider-set.ts';
import { forgetEmulatorUrls, readEmulatorUrls, recordEmulatorUrls } from '../sandbox/person-settings.ts';
import { Shutdown } from '../shutdown.ts';
import { bootstrap } from './bootstrap.ts';
import type { Command } from './command.ts';
import { cliContext } from './running-sandbox.ts';
import { stopSignals } from './stop-signals.ts';

/**
 * The person acted: the servers waiting on it are checked now rather than at their next scheduled
 * check (which may be PROVISIONING_WAIT_RECHECK_SECONDS away), as a customer's "check now" does.
 */
async function wakeWaitingServers(which: SQL | undefined): Promise<number> {
  const ctx = await cliContext({ needsProviders: false });
  if (typeof ctx === 'number') return 0;
  try {
    const waiting = await ctx.database.db
      .select({ id: servers.id })
      .from(servers)
      .where(and(eq(servers.status, 'waiting'), which));
    let woken = 0;
    const actor = { id: `cli:${process.env['USER'] ?? 'unknown'}`, kind: 'staff' as const, ip: null };
    for (const server of waiting) {
      // A server whose wait is already over (or whose run ended meanwhile) has nothing to check.
      woken += await ctx.engine.recheckWaiting(actor, server.id).then(
        () => 1,
        () => 0,
      );
    }
    return woken;
  } finally {
    await ctx.close();
  }
}

/** The running sandbox's emulators: the separate `mailplane sandbox` (SANDBOX_URL) or the one `npm start` runs. */
async function emulatorUrls(config: {
  sandbox: { url: string | null };
  db: { dataDir: string };
}): Promise<{ scaleway: string | null; cloudflare: string | null }> {
  if (config.sandbox.url) {
    const env = (await (await fetch(`${config.sandbox.url}/env`)).json()) as Record<string, string>;
    return { scaleway: env['SCW_API_URL'] ?? null, cloudflare: env['CLOUDFLARE_API_URL'] ?? null };
  }
  const urls = await readEmulatorUrls(config.db.dataDir);
  if (!urls) throw new Error(`no running sandbox found (start mailplane with no provider credentials, or set SANDBOX_URL)`);
  return urls;
}

/** A person's action in the sandbox: the customer moved their nameservers, or Scaleway lifted the SMTP block. */
async function personAction(action: string, args: string[]): Promise<number> {
  const { config } = await bootstrap();
  const urls = await emulatorUrls(config);
  let target: string | null;
  if (action === 'smtp-open') {
    target = urls.scaleway && `${urls.scaleway}/__sandbox/smtp/open`;
  } else {
    const domain = args[0];
    if (!domain) {
      process.stderr.write(`usage: mailplane sandbox ${action} DOMAIN\n`);
      return 2;
    }
    const path = action === 'add-ds' ? 'ds' : 'activate';
    target = urls.cloudflare && `${urls.cloudflare}/__sandbox/zones/${encodeURIComponent(domain.toLowerCase())}/${path}`;
  }
  if (!target) {
    process.stderr.write(`this provider is not sandboxed\n`);
    return 1;
  }
  const res = await fetch(target, { method: 'POST' }).catch((err: unknown) => {
    throw new Error(`the sandbox does not answer (${String(err)}): is mailplane still running?`);
  });
  const body = await res.text();
  if (!res.ok) {
    process.stderr.write(`${action}: ${body}\n`);
    return 1;
  }
  const woken = await wakeWaitingServers(action === 'smtp-open' ? undefined : eq(servers.domain, args[0]!.toLowerCase()));
  process.stdout.write(
    action === 'smtp-open'
      ? `Outbound SMTP is open on the sandbox account; ${woken} waiting server(s) checked now.\n`
      : action === 'add-ds'
        ? `The registrar of ${args[0]} now publishes its DS; DNSSEC turns active once Cloudflare sees it, and TLSA follows at the next DNSSEC check.\n`
        : `${args[0]} now uses the sandbox nameservers; ${woken ? 'its server is checked now' : 'no server of it was waiting'}.\n`,
  );
  return 0;
}

export const sandboxCommand: Command = {
  name: 'sandbox',
  usage: `mailplane sandbox
mailplane sandbox smtp-open              # Scaleway lifts the outbound SMTP block (SANDBOX_SMTP_BLOCKED=1)
mailplane sandbox activate-zone DOMAIN   # the customer moved DOMAIN's nameservers (SANDBOX_ZONE_ACTIVATION=manual)
mailplane sandbox add-ds DOMAIN          # the customer added DOMAIN's DS at the registrar (SANDBOX_DNSSEC_ACTIVATION=registrar)

Starts the Scaleway, Cloudflare, Stripe, SSH-host and DNS emulators on 127.0.0.1
and prints "export NAME=value" lines; run \`mailplane api\` and \`mailplane worker\`
with them to share one sandbox. Webhooks go to http://127.0.0.1:$PORT/v1/webhooks/stripe.
SANDBOX_LISTED_IPS and SANDBOX_LIST_FIRST_IPS set what the DNSBL emulator lists.`,
  async run(args) {
    const [action, ...rest] = args;
    if (action === 'smtp-open' || action === 'activate-zone' || action === 'add-ds') return personAction(action, rest);
    const { config, log } = await bootstrap();
    const sandbox = sandboxFromConfig(
      config,
      log,
      { compute: true, dns: true, billing: true },
      {
        webhookUrl: `http://127.0.0.1:${config.http.port}/v1/webhooks/stripe`,
        ...(config.stripe ? { stripeWebhookSecret: config.stripe.webhookSecret } : {}),
      },
    );
    await sandbox.start();
    await recordEmulatorUrls(sandbox, config.db.dataDir);
    for (const [name, value] of Object.entries(sandbox.env())) process.stdout.write(`export ${name}=${value}\n`);
    // Ctrl-C reaches npx and node alike: a second signal hurries the stop, never skips it
    // (real-host machines and their network would outlive a process that died at once).
    const signals = stopSignals(log);
    await signals.stopped;
    const shutdown = new Shutdown({ log, hurry: signals.hurry });
    await shutdown.step(
      'the sandbox emulators to stop',
      sandbox.realHosts ? 75_000 : 3_000,
      async () => {
        await forgetEmulatorUrls(sandbox, config.db.dataDir).catch(() => {});
        await sandbox.stop();
      },
      { outsideBudget: sandbox.realHosts !== null },
    );
    log.info('stopped');
    return 0;
  },
};
