/**
 * GET /v1/me/export: everything mailplane holds about the caller, as one JSON
 * document. Secrets (password hashes, keys, tokens, mailbox passwords) are
 * never included; the document says which exist and when they were made.
 */
import { eq, inArray, or } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import {
  apiKeys,
  auditLog,
  catchAlls,
  checkouts,
  dkimKeys,
  dnsRecords,
  invitations,
  mailAliases,
  mailboxes,
  mailForwards,
  vacations,
  memberships,
  serverIps,
  servers,
  sessions,
  subscriptions,
  users,
  vaultSecrets,
  workspaces,
} from '../db/schema/index.ts';
import { NotFoundError } from '../errors.ts';

const iso = (d: Date | null | undefined) => d?.toISOString() ?? null;

export async function exportUserData(db: Db, userId: string) {
  const [user] = await db.select().from(users).where(eq(users.id, userId));
  if (!user) throw new NotFoundError('User');
  const myMemberships = await db
    .select({ workspaceId: memberships.workspaceId, role: memberships.role, createdAt: memberships.createdAt, name: workspaces.name })
    .from(memberships)
    .innerJoin(workspaces, eq(workspaces.id, memberships.workspaceId))
    .where(eq(memberships.userId, userId));
  const owned = myMemberships.filter((m) => m.role === 'owner').map((m) => m.workspaceId);

  const ownedWorkspaces = [];
  for (const workspaceId of owned) ownedWorkspaces.push(await workspaceDocument(db, workspaceId));

  const mySessions = await db.select().from(sessions).where(eq(sessions.userId, userId));
  const invitationsToMe = await db
    .select({ workspaceId: invitations.workspaceId, role: invitations.role, createdAt: invitations.createdAt, usedAt: invitations.usedAt })
    .from(invitations)
    .where(eq(invitations.email, user.email));
  const auditAboutMe = await db
    .select()
    .from(auditLog)
    .where(or(eq(auditLog.actorId, userId), eq(auditLog.target, userId)))
    .orderBy(auditLog.at);

  return {
    exportedAt: new Date().toISOString(),
    format: 'mailplane-export-v1' as const,
    account: {
      id: user.id,
      email: user.email,
      name: user.name,
      staffRole: user.staffRole,
      createdAt: iso(user.createdAt),
      password: { stored: 'argon2id hash (not exported)' },
    },
    sessions: mySessions.map((s) => ({
      id: s.id,
      createdAt: iso(s.createdAt),
      expiresAt: iso(s.expiresAt),
      revokedAt: iso(s.revokedAt),
      ip: s.ip,
      userAgent: s.userAgent,
    })),
    memberships: myMemberships.map((m) => ({ workspaceId: m.workspaceId, workspaceName: m.name, role: m.role, since: iso(m.createdAt) })),
    invitationsReceived: invitationsToMe.map((i) => ({ ...i, createdAt: iso(i.createdAt), usedAt: iso(i.usedAt) })),
    ownedWorkspaces,
    auditEntries: auditAboutMe.map((a) => ({
      at: iso(a.at),
      action: a.action,
      actorKind: a.actorKind,
      asActor: a.actorId === userId,
      workspaceId: a.workspaceId,
      target: a.target,
      ip: a.ip,
      details: a.details,
    })),
  };
}

async function workspaceDocument(db: Db, workspaceId: string) {
  const [ws] = await db.select().from(workspaces).where(eq(workspaces.id, workspaceId));
  const members = await db
    .select({ userId: memberships.userId, role: memberships.role, email: users.email, name: users.name })
    .from(memberships)
    .innerJoin(users, eq(users.id, memberships.userId))
    .where(eq(memberships.workspaceId, workspaceId));
  const keys = await db.select().from(apiKeys).where(eq(apiKeys.workspaceId, workspaceId));
  const subs = await db.select().from(subscriptions).where(eq(subscriptions.workspaceId, workspaceId));
  const outs = await db.select().from(checkouts).where(eq(checkouts.workspaceId, workspaceId));
  const srvs = await db.select().from(servers).where(eq(servers.workspaceId, workspaceId));
  const ids = srvs.map((s) => s.id);
  const ips = ids.length ? await db.select().from(serverIps).where(inArray(serverIps.serverId, ids)) : [];
  const records = ids.length ? await db.select().from(dnsRecords).where(inArray(dnsRecords.serverId, ids)) : [];
  const dkim = ids.length ? await db.select().from(dkimKeys).where(inArray(dkimKeys.serverId, ids)) : [];
  const boxes = ids.length ? await db.select().from(mailboxes).where(inArray(mailboxes.serverId, ids)) : [];
  // Aliases, catch-all, forwards (an outside address) and vacation texts are the customer's data too.
  const aliases = ids.length ? await db.select().from(mailAliases).where(inArray(mailAliases.serverId, ids)) : [];
  const catchAllRows = ids.length ? await db.select().from(catchAlls).where(inArray(catchAlls.serverId, ids)) : [];
  const forwards = ids.length ? await db.select().from(mailForwards).where(inArray(mailForwards.serverId, ids)) : [];
  const replies = ids.length ? await db.select().from(vacations).where(inArray(vacations.serverId, ids)) : [];
  const addressOf = (mailboxId: string) => boxes.find((m) => m.id === mailboxId)?.address ?? null;
  const secrets = await db
    .select({ ownerTable: vaultSecrets.ownerTable, ownerId: vaultSecrets.ownerId, purpose: vaultSecrets.purpose, createdAt: vaultSecrets.createdAt })
    .from(vaultSecrets)
    .where(eq(vaultSecrets.workspaceId, workspaceId));
  const secretsOf = (table: string, id: string) =>
    secrets
      .filter((s) => s.ownerTable === table && s.ownerId === id)
      .map((s) => ({ purpose: s.purpose, createdAt: iso(s.createdAt), value: 'encrypted in the vault (not exported)' }));
  return {
    id: ws!.id,
    name: ws!.name,
    createdAt: iso(ws!.createdAt),
    members: members.map((m) => ({ userId: m.userId, role: m.role, email: m.email, name: m.name })),
    apiKeys: keys.map((k) => ({
      id: k.id,
      name: k.name,
      prefix: k.prefix,
      scopes: k.scopes,
      createdAt: iso(k.createdAt),
      lastUsedAt: iso(k.lastUsedAt),
      revokedAt: iso(k.revokedAt),
    })),
    checkouts: outs.map((c) => ({ id: c.id, planId: c.planId, zone: c.zone, domain: c.domain, status: c.status, createdAt: iso(c.createdAt) })),
    subscriptions: subs.map((s) => ({
      id: s.id,
      planId: s.planId,
      status: s.status,
      stripeSubscriptionId: s.stripeSubscriptionId,
      createdAt: iso(s.createdAt),
    })),
    servers: srvs.map((s) => ({
      id: s.id,
      domain: s.domain,
      hostname: s.hostname,
      zone: s.zone,
      planId: s.planId,
      status: s.status,
      createdAt: iso(s.createdAt),
      ipv4: s.ipv4,
      ipv6: s.ipv6,
      sshHostKeyFingerprint: s.sshHostKeyFingerprint,
      nameServers: s.nameServers,
      dnssec: { status: s.dnssecStatus, ds: s.dnssecDs },
      ips: ips
        .filter((i) => i.serverId === s.id)
        .map((i) => ({ address: i.address, family: i.family, state: i.state, createdAt: iso(i.createdAt), releasedAt: iso(i.releasedAt) })),
      dnsRecords: records
        .filter((r) => r.serverId === s.id)
        .map((r) => ({ purpose: r.purpose, type: r.type, name: r.name, content: r.content, priority: r.priority, state: r.state })),
      dkimKeys: dkim
        .filter((k) => k.serverId === s.id)
        .map((k) => ({ domain: k.domain, selector: k.selector, publicKey: k.publicKey, state: k.state, privateKey: 'encrypted in the vault (not exported)' })),
      mailboxes: boxes
        .filter((m) => m.serverId === s.id)
        .map((m) => ({
          address: m.address,
          displayName: m.displayName,
          quotaMb: m.quotaMb,
          state: m.state,
          createdAt: iso(m.createdAt),
          secrets: secretsOf('mailboxes', m.id),
        })),
      addresses: {
        aliases: aliases.filter((a) => a.serverId === s.id).map((a) => ({ address: a.address, mailbox: addressOf(a.mailboxId), createdAt: iso(a.createdAt) })),
        catchAll: addressOf(catchAllRows.find((c) => c.serverId === s.id)?.mailboxId ?? ''),
        forwards: forwards.filter((f) => f.serverId === s.id).map((f) => ({ mailbox: addressOf(f.mailboxId), target: f.target, keepCopy: f.keepCopy })),
        vacations: replies
          .filter((v) => v.serverId === s.id)
          .map((v) => ({ mailbox: addressOf(v.mailboxId), startsOn: v.startsOn, endsOn: v.endsOn, subject: v.subject, message: v.message, days: v.days })),
      },
      secrets: secretsOf('servers', s.id),
    })),
  };
}
