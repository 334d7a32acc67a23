/**
 * verify: every published record resolves, through real DNS, to what was
 * published; then, on the server, the SMTP banner, STARTTLS on 25/587,
 * implicit TLS on 465 and IMAPS on 993 answer (verify-services.sh).
 * Mismatches are retryable for a while: resolvers may still hold old answers.
 */
import { and, eq } from 'drizzle-orm';
import { dnsRecords } from '../../src/db/schema/index.ts';
import { ProviderError } from '../../src/errors.ts';
import { expectedAnswer } from '../../src/servers/dns-view.ts';
import type { StepDefinition } from '../context.ts';
import { runScript, withSession } from '../remote.ts';

const norm = (s: string) => s.trim().replace(/\.$/, '').replace(/^"|"$/g, '').toLowerCase();

export const verify: StepDefinition = {
  name: 'verify',
  maxAttempts: 10,
  async run({ deps, server, log }) {
    const rows = await deps.database.db
      .select()
      .from(dnsRecords)
      .where(and(eq(dnsRecords.serverId, server.id), eq(dnsRecords.state, 'published')));
    // Asked all at once: one after another, some twenty lookups added their round trips.
    const checks = rows.flatMap((row) => {
      const { type, expected } = expectedAnswer(row, server);
      return type ? [{ row, type, expected }] : [];
    });
    const results = await Promise.all(checks.map(({ row, type }) => deps.lookup.lookup(row.name, type)));
    const problems: string[] = [];
    for (const [i, { row, expected }] of checks.entries()) {
      const result = results[i]!;
      if (result.status !== 'ok') problems.push(`${row.type} ${row.name}: ${result.status}${result.status === 'error' ? ` (${result.error})` : ''}`);
      else if (!result.answers.some((a) => norm(a) === norm(expected)))
        problems.push(`${row.type} ${row.name}: expected ${expected}, got ${result.answers.join(' | ')}`);
    }
    const checked = checks.length;
    if (problems.length > 0) {
      throw new ProviderError({
        provider: 'dns',
        retryable: true,
        code: 'dns_mismatch',
        detail: `DNS does not match what was published: ${problems.join('; ')}`,
      });
    }
    log(`${checked} DNS answers match`);
    const report = await withSession(deps, server, (session) => runScript(session, 'verify-services.sh', log));
    return { dnsChecked: checked, services: report.trim().slice(0, 2000) };
  },
};
