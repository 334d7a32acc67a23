/**
 * GET /v1/me/export as /openapi.json documents it (component GdprExport): everything mailplane
 * holds about the caller. Secrets appear only as a sentence saying that they exist and where.
 * Strict objects, so a field the export gains without being documented fails the tests.
 */
import { z } from '@hono/zod-openapi';

const at = z.string().nullable().openapi({ description: 'ISO 8601 timestamp' });
const withheld = z.string().openapi({ description: 'Says the secret exists and where it is kept; never the secret' });
const Secret = z.strictObject({ purpose: z.string(), createdAt: at, value: withheld });

const ExportedServer = z.strictObject({
  id: z.string(),
  domain: z.string(),
  hostname: z.string(),
  zone: z.string(),
  planId: z.string(),
  status: z.string(),
  createdAt: at,
  ipv4: z.string().nullable(),
  ipv6: z.string().nullable(),
  sshHostKeyFingerprint: z.string().nullable(),
  nameServers: z.array(z.string()).nullable(),
  dnssec: z.strictObject({ status: z.string().nullable(), ds: z.string().nullable() }),
  ips: z.array(z.strictObject({ address: z.string(), family: z.string(), state: z.string(), createdAt: at, releasedAt: at })),
  dnsRecords: z.array(
    z.strictObject({ purpose: z.string(), type: z.string(), name: z.string(), content: z.string(), priority: z.number().int().nullable(), state: z.string() }),
  ),
  dkimKeys: z.array(z.strictObject({ domain: z.string(), selector: z.string(), publicKey: z.string(), state: z.string(), privateKey: withheld })),
  mailboxes: z.array(
    z.strictObject({
      address: z.string(),
      displayName: z.string().nullable(),
      quotaMb: z.number().int(),
      state: z.string(),
      createdAt: at,
      secrets: z.array(Secret),
    }),
  ),
  addresses: z.strictObject({
    aliases: z.array(z.strictObject({ address: z.string(), mailbox: z.string().nullable(), createdAt: at })),
    catchAll: z.string().nullable().openapi({ description: 'The mailbox that receives mail for unknown addresses, if any' }),
    forwards: z.array(z.strictObject({ mailbox: z.string().nullable(), target: z.string(), keepCopy: z.boolean() })),
    vacations: z.array(
      z.strictObject({
        mailbox: z.string().nullable(),
        startsOn: z.string().nullable(),
        endsOn: z.string().nullable(),
        subject: z.string(),
        message: z.string(),
        days: z.number().int(),
      }),
    ),
  }),
  secrets: z.array(Secret),
});

const OwnedWorkspace = z.strictObject({
  id: z.string(),
  name: z.string(),
  createdAt: at,
  members: z.array(z.strictObject({ userId: z.string(), role: z.string(), email: z.string(), name: z.string() })),
  apiKeys: z.array(
    z.strictObject({
      id: z.string(),
      name: z.string(),
      prefix: z.string(),
      scopes: z.array(z.string()),
      createdAt: at,
      lastUsedAt: at,
      revokedAt: at,
    }),
  ),
  checkouts: z.array(z.strictObject({ id: z.string(), planId: z.string(), zone: z.string(), domain: z.string(), status: z.string(), createdAt: at })),
  subscriptions: z.array(
    z.strictObject({ id: z.string(), planId: z.string(), status: z.string(), stripeSubscriptionId: z.string().nullable(), createdAt: at }),
  ),
  servers: z.array(ExportedServer),
});

export const GdprExport = z
  .strictObject({
    exportedAt: z.string(),
    format: z.literal('mailplane-export-v1'),
    account: z.strictObject({
      id: z.string(),
      email: z.string(),
      name: z.string(),
      staffRole: z.enum(['support', 'ops']).nullable(),
      createdAt: at,
      password: z.strictObject({ stored: withheld }),
    }),
    sessions: z.array(
      z.strictObject({ id: z.string(), createdAt: at, expiresAt: at, revokedAt: at, ip: z.string().nullable(), userAgent: z.string().nullable() }),
    ),
    memberships: z.array(z.strictObject({ workspaceId: z.string(), workspaceName: z.string(), role: z.string(), since: at })),
    invitationsReceived: z.array(z.strictObject({ workspaceId: z.string(), role: z.string(), createdAt: at, usedAt: at })),
    ownedWorkspaces: z.array(OwnedWorkspace).openapi({ description: 'Workspaces you own, with everything in them' }),
    auditEntries: z.array(
      z.strictObject({
        at,
        action: z.string(),
        actorKind: z.string(),
        asActor: z.boolean().openapi({ description: 'true: you did it; false: it was done to you' }),
        workspaceId: z.string().nullable(),
        target: z.string().nullable(),
        ip: z.string().nullable(),
        details: z.unknown(),
      }),
    ),
  })
  .openapi('GdprExport');
