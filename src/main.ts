/**
 * CLI entry. `mailplane` (or `npm start`) runs API and workers in one process;
 * `mailplane api` / `mailplane worker` run one role, so many processes can share
 * one PostgreSQL.
 */
import type { Command } from './cli/command.ts';
import { wantsHelp } from './cli/command.ts';
import { AppError } from './errors.ts';

/**
 * Commands load their module only when used: the whole product is a lot of
 * code to parse, and `mailplane --help` or a typo should answer at once.
 */
interface CommandEntry {
  name: string;
  summary: string;
  load(): Promise<Command>;
}

const role = (name: 'all' | 'api' | 'worker', summary: string): CommandEntry => ({
  name,
  summary,
  load: async () => (await import('./cli/serve.ts')).roleCommand(name, summary),
});

const commands: CommandEntry[] = [
  role('all', 'Run the API and the workers in one process (the default)'),
  role('api', 'Run only the HTTP API'),
  role('worker', 'Run only the job workers'),
  { name: 'migrate', summary: 'Apply the database migrations and exit', load: async () => (await import('./cli/migrate.ts')).migrateCommand },
  { name: 'staff', summary: 'Grant or revoke the staff role (support, ops)', load: async () => (await import('./cli/staff.ts')).staffCommand },
  {
    name: 'servers',
    summary: 'Support: list and inspect servers, re-run a step, resume a failed run',
    load: async () => (await import('./cli/servers.ts')).serversCommand,
  },
  {
    name: 'reconcile',
    summary: 'Compare provider resources with the database; --apply deletes orphans',
    load: async () => (await import('./cli/ops.ts')).reconcileCommand,
  },
  { name: 'ips', summary: "Ops: rotate a live server's IP address", load: async () => (await import('./cli/ops.ts')).ipsCommand },
  {
    name: 'fleet',
    summary: "Stack versions across the fleet, a server's drift with diffs, a drift check now",
    load: async () => (await import('./cli/fleet.ts')).fleetCommand,
  },
  {
    name: 'rollouts',
    summary: 'Ops: roll the current stack out (canary, waves), follow it, resume, skip or abort it',
    load: async () => (await import('./cli/fleet.ts')).rolloutsCommand,
  },
  { name: 'images', summary: 'Ops: pre-baked mail-server images per zone; bake one now', load: async () => (await import('./cli/images.ts')).imagesCommand },
  {
    name: 'sandbox',
    summary: 'Run the provider emulators alone (for a separate API or worker process)',
    load: async () => (await import('./cli/sandbox.ts')).sandboxCommand,
  },
  {
    name: 'templates',
    summary: 'Render the file tree a mail server gets, for review',
    load: async () => (await import('./cli/templates.ts')).templatesCommand,
  },
  { name: 'vault', summary: 'Vault status and master-key rotation', load: async () => (await import('./cli/vault.ts')).vaultCommand },
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
  if (name === undefined) return (await commands[0]!.load()).run([]);
  if (name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${help()}\n`);
    return 0;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    process.stderr.write(`Unknown command "${name}".\n\n${help()}\n`);
    return 2;
  }
  const command = await entry.load();
  if (wantsHelp(rest)) {
    process.stdout.write(`${command.usage}\n`);
    return 0;
  }
  return command.run(rest);
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // Expected refusals (not found, conflict, bad input) read as a sentence; anything else keeps its stack.
    const expected = err instanceof AppError && err.status < 500;
    process.stderr.write(`mailplane: ${expected ? err.message : err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
