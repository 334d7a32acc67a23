/** `mailplane migrate`: apply the SQL migrations and exit. */
import { connectDatabaseUrl } from '../app-context.ts';
import { runMigrations } from '../db/migrate.ts';
import { bootstrap } from './bootstrap.ts';
import type { Command } from './command.ts';

export const migrateCommand: Command = {
  name: 'migrate',
  usage: 'mailplane migrate\n\nApplies the committed SQL migrations in migrations/ to DATABASE_URL (or the embedded database).',
  async run() {
    const { config, log } = await bootstrap();
    const { url, embedded } = await connectDatabaseUrl(config, log);
    try {
      await runMigrations(url);
      log.info('migrations applied');
    } finally {
      await embedded?.stop();
    }
    return 0;
  },
};
