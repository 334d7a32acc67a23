/**
 * The steps of a DKIM rotation (plan `rotate_dkim`): a new generation is made, published through
 * Cloudflare, read back through the resolvers (what a receiver sees), and only then installed and
 * signed with; the previous key becomes `retiring` (the DKIM sweep revokes and deletes it later).
 * An emergency rotation (a leaked key) revokes the previous key's records in its first step.
 */
import { and, eq, ne } from 'drizzle-orm';
import { audit, SYSTEM_ACTOR } from '../../src/audit.ts';
import type { DbOrTx } from '../../src/db/client.ts';
import { dkimKeys, dnsRecords } from '../../src/db/schema/index.ts';
import { AppError } from '../../src/errors.ts';
import { dkimFiles, renderServerTree } from '../../src/mailstack/render.ts';
import { SCRIPT_DIR } from '../../src/mailstack/manifest.ts';
import type { StepContext, StepDefinition } from '../context.ts';
import { createGeneration, dkimOwner, dkimRecordContent, generationRecords, keysOf, rotationDue, type DkimKeyRow } from '../dkim/keys.ts';
import { writeGenerationRecords } from '../dkim/records.ts';
import { mailstackInput } from '../mailstack-input.ts';
import { runScript, withSession } from '../remote.ts';

export interface RotateDkimParams {
  reason: string;
  emergency: boolean;
}

const paramsOf = (ctx: StepContext) => ctx.run.params as unknown as RotateDkimParams;

async function nextKey(ctx: StepContext): Promise<DkimKeyRow> {
  const [next] = await keysOf(ctx.deps.database.db, ctx.server.id, ctx.server.domain, 'next');
  if (!next) throw new Error('no next DKIM key (generate_next_dkim)');
  return next;
}

function zoneOf(ctx: StepContext): string {
  if (!ctx.server.dnsZoneId) throw new Error('the server has no DNS zone');
  return ctx.server.dnsZoneId;
}

/** The record of the domain's DNS, as a resolver answers it: one string, whatever the chunking. */
const norm = (s: string) => s.replace(/"\s*"/g, '').replace(/^"|"$/g, '').replace(/\s+/g, ' ').trim();

export const generateNextDkim: StepDefinition = {
  name: 'generate_next_dkim',
  async run(ctx) {
    const { deps, server, log } = ctx;
    const db = deps.database.db;
    if (paramsOf(ctx).emergency) {
      // A leaked key must stop verifying now, not after the new one propagates: its records answer
      // an empty key from here on (SPF still aligns DMARC for the few minutes until the new key signs).
      const [active] = await keysOf(db, server.id, server.domain, 'active');
      if (active && !active.revokedAt) {
        await writeGenerationRecords(deps.dns, zoneOf(ctx), active, true);
        await db.transaction(async (tx) => {
          await tx
            .update(dkimKeys)
            .set({ revokedAt: new Date(deps.clock.now()) })
            .where(and(eq(dkimKeys.id, active.id), eq(dkimKeys.state, 'active')));
          await audit(tx, SYSTEM_ACTOR, {
            action: 'dkim.revoked',
            workspaceId: server.workspaceId,
            target: server.id,
            details: { selector: active.selector, ed25519Selector: active.ed25519Selector, emergency: true },
          });
        });
        log(
          `emergency: revoked ${generationRecords(active)
            .map((r) => r.name)
            .join(', ')} (empty p=)`,
        );
      }
    }
    // A next key left by an earlier, failed rotation never signed: it is taken up again.
    const [pending] = await keysOf(db, server.id, server.domain, 'next');
    const key = pending ?? (await createGeneration(deps, server, 'next'));
    log(`${pending ? 'reusing' : 'generated'} DKIM key ${key.selector}${key.ed25519Selector ? ` and Ed25519 key ${key.ed25519Selector}` : ''}`);
    return { selector: key.selector, ed25519Selector: key.ed25519Selector };
  },
};

export const publishNextDkim: StepDefinition = {
  name: 'publish_next_dkim',
  async run(ctx) {
    const { deps, server, log } = ctx;
    const key = await nextKey(ctx);
    const ids = await writeGenerationRecords(deps.dns, zoneOf(ctx), key, false);
    await deps.database.db.transaction(async (tx) => {
      await tx.update(dkimKeys).set({ providerRecordIds: ids }).where(eq(dkimKeys.id, key.id));
      await audit(tx, SYSTEM_ACTOR, {
        action: 'dkim.published',
        workspaceId: server.workspaceId,
        target: server.id,
        details: { selector: key.selector, ed25519Selector: key.ed25519Selector },
      });
    });
    for (const r of generationRecords(key)) log(`TXT ${r.name}: published`);
    return { records: generationRecords(key).map((r) => r.name) };
  },
};

/** Not visible yet: DNS propagation takes its time; the engine retries with backoff. */
class DkimNotVisibleError extends AppError {
  constructor(detail: string) {
    super({ code: 'dkim_not_visible', status: 503, title: 'The new DKIM record is not visible yet', detail, retryable: true });
  }
}

export const confirmNextDkim: StepDefinition = {
  name: 'confirm_next_dkim',
  // Propagation through resolvers' caches can take a while: many attempts, backing off, before ops hear of it.
  maxAttempts: 40,
  async run(ctx) {
    const { deps, server, log } = ctx;
    const key = await nextKey(ctx);
    for (const spec of generationRecords(key)) {
      const expected = dkimRecordContent(spec.algorithm, spec.publicKey);
      const answer = await deps.lookup.lookup(spec.name, 'TXT');
      const answers = answer.status === 'ok' ? answer.answers.map(norm) : [];
      if (!answers.includes(expected)) {
        const seen = answer.status === 'ok' ? `${answers.length} other answer(s)` : answer.status === 'error' ? answer.error : answer.status;
        throw new DkimNotVisibleError(`${spec.name} does not answer the new key yet through the resolvers (${seen})`);
      }
      log(`TXT ${spec.name}: the resolvers answer the new key`);
    }
    await deps.database.db.transaction(async (tx) => {
      await tx
        .update(dkimKeys)
        .set({ confirmedAt: new Date(deps.clock.now()) })
        .where(eq(dkimKeys.id, key.id));
      await audit(tx, SYSTEM_ACTOR, {
        action: 'dkim.confirmed',
        workspaceId: server.workspaceId,
        target: server.id,
        details: { selector: key.selector, ed25519Selector: key.ed25519Selector },
      });
    });
    return { confirmed: generationRecords(key).map((r) => r.name) };
  },
};

export const signWithNextDkim: StepDefinition = {
  name: 'sign_with_next_dkim',
  async run(ctx) {
    const { deps, server, log } = ctx;
    const db = deps.database.db;
    const [next] = await keysOf(db, server.id, server.domain, 'next');
    if (!next) {
      // A crash after the switch committed: the rotation is done.
      const [active] = await keysOf(db, server.id, server.domain, 'active');
      log(`DKIM key ${active?.selector ?? '?'} already signs`);
      return { selector: active?.selector ?? null };
    }
    const tree = renderServerTree(await mailstackInput(deps, server, next));
    // The signing configuration and the keys, and the script that applies them (an older server may lack it).
    const files = [...dkimFiles(tree), ...tree.filter((f) => f.path === `${SCRIPT_DIR}/dkim-apply.sh`)];
    const selectors = generationRecords(next).map((r) => r.selector);
    await withSession(deps, server, async (session) => {
      await session.upload(files.map((f) => ({ path: f.path, content: f.content, mode: f.mode })));
      // Reloads Rspamd and fails unless the running Rspamd signs a test message with every new selector.
      await runScript(session, `dkim-apply.sh ${selectors.join(' ')}`, log);
    });
    const now = deps.clock.now();
    const { overlapDays, deleteAfterDays } = deps.settings.dkim;
    await db.transaction(async (tx) => {
      const [previous] = await tx
        .select()
        .from(dkimKeys)
        .where(and(eq(dkimKeys.serverId, server.id), eq(dkimKeys.domain, server.domain), eq(dkimKeys.state, 'active'), ne(dkimKeys.id, next.id)))
        .for('update');
      if (previous) {
        // Emergency: already revoked, so it goes straight to `revoked` (deleted after the usual delay) and its private keys go now.
        const revoked = previous.revokedAt !== null;
        await tx
          .update(dkimKeys)
          .set({
            state: revoked ? 'revoked' : 'retiring',
            retiredAt: new Date(now),
            nextTransitionAt: new Date(now + (revoked ? deleteAfterDays : overlapDays) * 86_400_000),
          })
          .where(and(eq(dkimKeys.id, previous.id), eq(dkimKeys.state, 'active')));
        if (revoked) {
          await deps.vault.remove(tx, dkimOwner(previous, server.workspaceId, 'rsa'));
          await deps.vault.remove(tx, dkimOwner(previous, server.workspaceId, 'ed25519'));
        }
      }
      await tx
        .update(dkimKeys)
        .set({ state: 'active', activatedAt: new Date(now), nextTransitionAt: rotationDue(deps, now) })
        .where(and(eq(dkimKeys.id, next.id), eq(dkimKeys.state, 'next')));
      await pointRecordsAt(tx, server.id, next);
      await audit(tx, SYSTEM_ACTOR, {
        action: 'dkim.activated',
        workspaceId: server.workspaceId,
        target: server.id,
        details: { selector: next.selector, ed25519Selector: next.ed25519Selector, previous: previous?.selector ?? null, emergency: paramsOf(ctx).emergency },
      });
    });
    log(
      `Rspamd signs with ${selectors.join(' and ')}${paramsOf(ctx).emergency ? '; the previous key is revoked' : `; the previous key stays published ${overlapDays} days`}`,
    );
    return { selector: next.selector, ed25519Selector: next.ed25519Selector };
  },
};

/**
 * The mail records mailplane keeps (dns_records, purposes dkim and dkim_ed25519) name the key that
 * signs. Only the rows change: the records were published by publish_next_dkim, and the previous
 * key's records stay for the sweep (a re-publish of the purpose would otherwise delete them now).
 */
async function pointRecordsAt(tx: DbOrTx, serverId: string, key: DkimKeyRow): Promise<void> {
  const ids = key.providerRecordIds;
  for (const spec of generationRecords(key)) {
    const purpose = spec.algorithm === 'rsa' ? 'dkim' : 'dkim_ed25519';
    const values = {
      serverId,
      purpose,
      type: 'TXT',
      name: spec.name,
      content: dkimRecordContent(spec.algorithm, spec.publicKey),
      priority: null,
      providerRecordId: ids[spec.algorithm] ?? null,
      state: 'published' as const,
      updatedAt: new Date(),
    };
    await tx
      .insert(dnsRecords)
      .values(values)
      .onConflictDoUpdate({ target: [dnsRecords.serverId, dnsRecords.purpose], set: values });
  }
  if (!key.ed25519Selector) await tx.delete(dnsRecords).where(and(eq(dnsRecords.serverId, serverId), eq(dnsRecords.purpose, 'dkim_ed25519')));
}
