/** `mailplane staff grant EMAIL --role support|ops` and `mailplane staff revoke EMAIL`. */
import { eq } from 'drizzle-orm';
import { parseArgs } from 'node:util';
import { connectDatabaseUrl } from '../app-context.ts';
import { audit } from '../audit.ts';
import { openDatabase } from '../db/client.ts';
import { users } from '../db/schema/index.ts';
import { bootstrap } from './bootstrap.ts';
import type { Command } from './command.ts';

const USAGE = `mailplane staff grant EMAIL --role support|ops
mailplane staff revoke EMAIL

Grants or revokes the global staff role of an existing account.
  support  sees every server's provisioning steps and logs, re-runs steps
  ops      support's rights plus alerts, IP rotation and reconciliation`;

export const staffCommand: Command = {
  name: 'staff',
  usage: USAGE,
  async run(args) {
    const { positionals, values } = parseArgs({ args, allowPositionals: true, options: { role: { type: 'string' } } });
    const [action, rawEmail] = positionals;
    const email = rawEmail?.trim().toLowerCase();
    if ((action !== 'grant' && action !== 'revoke') || !email) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const role = values.role;
    if (action === 'grant' && role !== 'support' && role !== 'ops') {
      process.stderr.write('--role must be support or ops\n');
      return 2;
    }
    const { config, log } = await bootstrap();
    const { url, embedded } = await connectDatabaseUrl(config, log);
    const database = openDatabase(url, { max: 1 });
    try {
      const staffRole = action === 'grant' ? (role as 'support' | 'ops') : null;
      const [user] = await database.db.update(users).set({ staffRole }).where(eq(users.email, email)).returning({ id: users.id });
      if (!user) {
        process.stderr.write(`No account with email ${email}\n`);
        return 1;
      }
      await audit(
        database.db,
        { id: `cli:${process.env['USER'] ?? 'unknown'}`, kind: 'system', ip: null },
        {
          action: `staff.${action}`,
          target: user.id,
          details: { role: staffRole },
        },
      );
      process.stdout.write(action === 'grant' ? `${email} is now ${staffRole}\n` : `${email} is no longer staff\n`);
      return 0;
    } finally {
      await database.close();
      await embedded?.stop();
    }
  },
};
