/**
 * `mailplane sandbox`: the provider emulators alone, for running the API and
 * workers as separate processes against one shared sandbox. Prints the
 * environment those processes need.
 */
import { sandboxFromConfig } from '../provider-set.ts';
import { bootstrap } from './bootstrap.ts';
import type { Command } from './command.ts';

export const sandboxCommand: Command = {
  name: 'sandbox',
  usage: `mailplane sandbox

Starts the Scaleway, Cloudflare, Stripe, SSH-host and DNS emulators on 127.0.0.1
and prints "export NAME=value" lines; run \`mailplane api\` and \`mailplane worker\`
with them to share one sandbox. Webhooks go to http://127.0.0.1:$PORT/v1/webhooks/stripe.
SANDBOX_LISTED_IPS and SANDBOX_LIST_FIRST_IPS set what the DNSBL emulator lists.`,
  async run() {
    const { config, log } = await bootstrap();
    const sandbox = sandboxFromConfig(config, log, { compute: true, dns: true, billing: true }, {
      webhookUrl: `http://127.0.0.1:${config.http.port}/v1/webhooks/stripe`,
      ...(config.stripe ? { stripeWebhookSecret: config.stripe.webhookSecret } : {}),
    });
    await sandbox.start();
    for (const [name, value] of Object.entries(sandbox.env())) process.stdout.write(`export ${name}=${value}\n`);
    await new Promise<void>((resolve) => {
      process.once('SIGINT', () => resolve());
      process.once('SIGTERM', () => resolve());
    });
    await sandbox.stop();
    return 0;
  },
};
