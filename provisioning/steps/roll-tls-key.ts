/**
 * The steps of a TLS key rollover (plan `roll_tls_key`, RFC 7671 §8.1 "current + next"): the next
 * key is made on the host, the TLSA records of both keys are published, the key switches only once
 * every resolver's cached TLSA set holds the next key (TLSA_ROLLOVER_WAIT_SECONDS after publishing,
 * and the records read back), then the old record goes. A DANE sender therefore always finds the
 * served key in the TLSA set it holds. Without active DNSSEC no TLSA is published: the key switches
 * at once, as nothing can mismatch.
 */
import { and, eq } from 'drizzle-orm';
import { audit, SYSTEM_ACTOR } from '../../src/audit.ts';
import { dnsRecords, servers } from '../../src/db/schema/index.ts';
import { AppError } from '../../src/errors.ts';
import type { StepContext, StepDefinition } from '../context.ts';
import { tlsaRecord, type DesiredRecord } from '../dns-records.ts';
import { publishRecord } from '../records.ts';
import { runScript, SCRIPT_DIR, withSession } from '../remote.ts';
import { secretOwner } from '../server-keys.ts';
import { WaitingError } from '../waiting.ts';
import { TLS_LINEAGE_SECRET } from './issue-tls.ts';

export interface RollTlsKeyParams {
  reason: string;
  keyType: 'ecdsa' | 'rsa';
}

const HASH = /^[0-9a-f]{64}$/;
const tlsaName = (hostname: string) => `_25._tcp.${hostname}`;

/** One TLSA record among several at the name: its slot is its own content, so publishing it leaves the other key's record alone. */
function tlsaOf(purpose: string, hostname: string, spki: string): DesiredRecord {
  const content = `3 1 1 ${spki}`;
  return {
    purpose,
    type: 'TLSA',
    name: tlsaName(hostname),
    content,
    sameSlot: (r) => r.type === 'TLSA' && r.name === tlsaName(hostname) && r.content.toLowerCase() === content,
  };
}

async function setServer(ctx: StepContext, values: Partial<typeof servers.$inferInsert>): Promise<void> {
  await ctx.deps.database.db
    .update(servers)
    .set({ ...values, updatedAt: new Date() })
    .where(eq(servers.id, ctx.server.id));
}

export const prepareNextTlsKey: StepDefinition = {
  name: 'prepare_next_tls_key',
  async run(ctx) {
    const { deps, server, log } = ctx;
    const { keyType } = ctx.run.params as unknown as RollTlsKeyParams;
    const spki = await withSession(deps, server, async (session) =>
      (await runScript(session, `tls-rollover.sh prepare ${keyType === 'rsa' ? 'rsa' : 'ecdsa'}`, () => {})).trim().toLowerCase(),
    );
    if (!HASH.test(spki)) throw new Error(`tls-rollover.sh prepare printed no SHA-256 SPKI hash (got "${spki.slice(0, 80)}")`);
    if (spki === server.tlsSpkiSha256) throw new Error('the next TLS key is the current one');
    await setServer(ctx, { tlsNextSpkiSha256: spki });
    log(`next TLS key (${keyType}) made on the host: SPKI sha256 ${spki}`);
    return { nextSpkiSha256: spki };
  },
};

export const publishNextTlsa: StepDefinition = {
  name: 'publish_next_tlsa',
  async run(ctx) {
    const { deps, server, log } = ctx;
    if (!server.dnsZoneId || !server.tlsSpkiSha256 || !server.tlsNextSpkiSha256)
      throw new Error('publish_next_tlsa needs the zone, the current and the next TLS key');
    const dnssec = await deps.dns.getDnssec(server.dnsZoneId);
    const [current] = await deps.database.db
      .select()
      .from(dnsRecords)
      .where(and(eq(dnsRecords.serverId, server.id), eq(dnsRecords.purpose, 'tlsa'), eq(dnsRecords.state, 'published')));
    if (dnssec.state !== 'active' || !current) {
      log(`no TLSA record is published (DNSSEC ${dnssec.state}): nothing for a DANE sender to mismatch, the key may switch now`);
      await setServer(ctx, { tlsNextTlsaAt: null });
      return { published: false };
    }
    // Both keys: the current record kept (its slot is its own content), the next one beside it.
    await publishRecord(deps, server, server.dnsZoneId, tlsaOf('tlsa', server.hostname, server.tlsSpkiSha256));
    const action = await publishRecord(deps, server, server.dnsZoneId, tlsaOf('tlsa_next', server.hostname, server.tlsNextSpkiSha256));
    await setServer(ctx, { tlsNextTlsaAt: new Date(deps.clock.now()) });
    await audit(deps.database.db, SYSTEM_ACTOR, {
      action: 'tls.next_tlsa_published',
      workspaceId: server.workspaceId,
      target: server.id,
      details: { next: server.tlsNextSpkiSha256 },
    });
    log(`TLSA ${tlsaName(server.hostname)} 3 1 1 ${server.tlsNextSpkiSha256}: ${action}, beside the current key's record`);
    return { published: true };
  },
};

class TlsaNotVisibleError extends AppError {
  constructor(detail: string) {
    super({ code: 'tlsa_not_visible', status: 503, title: "The next key's TLSA record is not visible yet", detail, retryable: true });
  }
}

export const switchTlsKey: StepDefinition = {
  name: 'switch_tls_key',
  maxAttempts: 40,
  async run(ctx) {
    const { deps, server, log } = ctx;
    const next = server.tlsNextSpkiSha256;
    if (next && server.tlsNextTlsaAt) {
      const due = server.tlsNextTlsaAt.getTime() + deps.settings.tlsaRolloverWaitMs;
      if (deps.clock.now() < due) {
        throw new WaitingError({
          code: 'tlsa_rollover_ttl',
          party: 'ops',
          message: `The TLSA records of the current and the next TLS key are published; the key switches at ${new Date(due).toISOString()}, once no resolver can still hold a TLSA set without the next key.`,
          action: 'Nothing to do: mailplane switches the key by itself.',
          recheckMs: due - deps.clock.now(),
        });
      }
      const answer = await deps.lookup.lookup(tlsaName(server.hostname), 'TLSA');
      const seen = answer.status === 'ok' ? answer.answers.map((a) => a.toLowerCase()) : [];
      if (!seen.includes(`3 1 1 ${next}`))
        throw new TlsaNotVisibleError(`${tlsaName(server.hostname)} does not answer the next key's TLSA record through the resolvers yet`);
    }
    const { spki, lineage } = await withSession(deps, server, async (session) => {
      const { keyType } = ctx.run.params as unknown as RollTlsKeyParams;
      const spki = (await runScript(session, `tls-rollover.sh switch ${keyType === 'rsa' ? 'rsa' : 'ecdsa'}`, log)).trim().split('\n').at(-1)!.toLowerCase();
      // check: false — a failed export's stdout may hold part of the key, which must not reach an error message.
      const exported = await session.exec(`bash ${SCRIPT_DIR}/tls-lineage.sh export`, { check: false });
      if (exported.code !== 0) throw new Error(`tls-lineage.sh export failed: ${exported.stderr.trim().slice(0, 200)}`);
      return { spki, lineage: exported.stdout.trim() };
    });
    if (next ? spki !== next : spki !== server.tlsSpkiSha256)
      throw new Error(`the host serves the key ${spki.slice(0, 16)}…, not the next key ${next?.slice(0, 16) ?? '?'}…`);
    await deps.database.db.transaction(async (tx) => {
      await deps.vault.put(tx, secretOwner(server, TLS_LINEAGE_SECRET), lineage);
      await tx.update(servers).set({ tlsSpkiSha256: spki, tlsNextSpkiSha256: null, updatedAt: new Date() }).where(eq(servers.id, server.id));
    });
    log(`the services serve the next key (SPKI sha256 ${spki}); lineage kept in the vault`);
    return { spkiSha256: spki };
  },
};

export const retireOldTlsa: StepDefinition = {
  name: 'retire_old_tlsa',
  async run(ctx) {
    const { deps, server, log } = ctx;
    const db = deps.database.db;
    if (server.tlsNextTlsaAt && server.dnsZoneId && server.tlsSpkiSha256) {
      // The record of the served key only: the old key's record is the one this replaces.
      const action = await publishRecord(deps, server, server.dnsZoneId, tlsaRecord(server.hostname, server.tlsSpkiSha256));
      log(`TLSA ${tlsaName(server.hostname)}: only 3 1 1 ${server.tlsSpkiSha256} (${action})`);
    }
    await db.transaction(async (tx) => {
      await tx.delete(dnsRecords).where(and(eq(dnsRecords.serverId, server.id), eq(dnsRecords.purpose, 'tlsa_next')));
      await tx.update(servers).set({ tlsNextTlsaAt: null, updatedAt: new Date() }).where(eq(servers.id, server.id));
      await audit(tx, SYSTEM_ACTOR, { action: 'tls.rolled_over', workspaceId: server.workspaceId, target: server.id, details: { spki: server.tlsSpkiSha256 } });
    });
    return { spkiSha256: server.tlsSpkiSha256 };
  },
};
