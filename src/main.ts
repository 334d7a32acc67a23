/**
 * CLI entry. `mailplane` (or `npm start`) runs API and workers in one process;
 * `mailplane api` / `mailplane worker` run one role, so many processes can share
 * one PostgreSQL.
 */
import type { Command } from './cli/command.ts';
import { wantsHelp } from './cli/command.ts';
import { migrateCommand } from './cli/migrate.ts';
import { ipsCommand, reconcileCommand } from './cli/ops.ts';
import { roleCommand } from './cli/serve.ts';
import { sandboxCommand } from './cli/sandbox.ts';
import { serversCommand } from './cli/servers.ts';
import { staffCommand } from './cli/staff.ts';
import { vaultCommand } from './cli/vault.ts';

const commands: Command[] = [
  roleCommand('all', 'Run the API and the workers in one process (the default)'),
  roleCommand('api', 'Run only the HTTP API'),
  roleCommand('worker', 'Run only the job workers'),
  migrateCommand,
  staffCommand,
  serversCommand,
  reconcileCommand,
  ipsCommand,
  sandboxCommand,
  (await import('./cli/templates.ts')).templatesCommand,
  vaultCommand,
];

function help(): string {
  const width = Math.max(...commands.map((c) => c.name.length));
  return [
    'Usage: mailplane [command] [--help]',
    '',
    'Commands:',
    ...commands.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    'Without a command, runs `all`. Configuration comes from the environment (see .env.example).',
  ].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined) return roleCommand('all', '').run([]);
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    process.stderr.write(`Unknown command "${name}".\n\n${help()}\n`);
    return 2;
  }
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`mailplane: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
