/**
 * The server's read models as the API documents them (named components of /openapi.json): the
 * summary in lists, the detail with IPs and steps, the DNS view. Strict objects, so a field a
 * handler adds without documenting it fails the tests (test/support/response-contract.ts checks
 * every answer the test harnesses receive against these).
 */
import { z } from '@hono/zod-openapi';
import { CHECK_STATUSES, DKIM_KEY_STATES, RUN_KINDS, RUN_STATUSES, SERVER_STATUSES, STEP_STATUSES } from '../../db/schema/index.ts';
import { CustomerRecord } from './dns-records.ts';

const at = z.string().openapi({ description: 'ISO 8601 timestamp' });
const atOrNull = at.nullable();

const Wait = z.object({
  code: z.string().openapi({ description: 'Stable reason: zone_pending, outbound_smtp_blocked, …' }),
  party: z.enum(['customer', 'ops']).openapi({ description: 'Whose move it is' }),
  message: z.string(),
  action: z.string().openapi({ description: 'What to do, in a sentence' }),
  since: at,
  checkedAt: at,
  nextCheckAt: at,
  checks: z.number().int(),
  alertKey: z.string().optional(),
  details: z.record(z.string(), z.unknown()).optional(),
});

export const ServerSummary = z
  .strictObject({
    id: z.string(),
    workspaceId: z.string(),
    status: z.enum(SERVER_STATUSES),
    statusReason: z.string().nullable(),
    zone: z.string(),
    plan: z.string(),
    domain: z.string(),
    hostname: z.string(),
    ipv4: z.string().nullable(),
    ipv6: z.string().nullable(),
    warnings: z.array(z.strictObject({ code: z.string(), message: z.string(), at })),
    createdAt: at,
    updatedAt: at,
  })
  .openapi('ServerSummary');

const Step = z.strictObject({
  name: z.string(),
  status: z.enum(STEP_STATUSES),
  attempt: z.number().int(),
  dependsOn: z.array(z.string()),
  error: z.string().nullable(),
  startedAt: atOrNull,
  finishedAt: atOrNull,
  nextAttemptAt: atOrNull,
  durationMs: z.number().int().nullable(),
  waitingFor: Wait.nullable(),
  log: z.string().optional().openapi({ description: "Staff only (GET /v1/admin/servers/{id}): the tail of the step's output" }),
  output: z.record(z.string(), z.unknown()).optional().openapi({ description: 'Staff only: what the step recorded' }),
});

export const ServerDetail = ServerSummary.extend({
  nameServers: z.array(z.string()),
  dnssec: z.strictObject({ status: z.string().nullable(), ds: z.string().nullable() }),
  ips: z.array(
    z.strictObject({
      address: z.string(),
      family: z.enum(['ipv4', 'ipv6']),
      state: z.enum(['reserved', 'clean', 'listed', 'unknown', 'active', 'released']),
      listings: z.array(z.object({ zone: z.string(), codes: z.array(z.string()), meaning: z.array(z.string()) })),
      checkedAt: atOrNull,
      createdAt: at,
      releasedAt: atOrNull,
    }),
  ),
  waitingFor: z.array(Wait.extend({ step: z.string() })).openapi({ description: 'What provisioning waits for and on whom, with what to do' }),
  run: z
    .strictObject({ id: z.string(), kind: z.enum(RUN_KINDS), status: z.enum(RUN_STATUSES), error: z.string().nullable(), createdAt: at, finishedAt: atOrNull })
    .nullable(),
  steps: z.array(Step).openapi({ description: 'The steps of the latest run' }),
}).openapi('ServerDetail');

const DnssecKey = z.strictObject({
  keyTag: z.number().int().nullable(),
  algorithm: z.string().nullable(),
  digest: z.string().nullable(),
  digestType: z.string().nullable(),
  publicKey: z.string().nullable(),
  flags: z.number().int().nullable(),
});

const DkimKey = z.strictObject({
  selector: z.string(),
  ed25519Selector: z.string().nullable(),
  state: z.enum(DKIM_KEY_STATES),
  explanation: z.string(),
  records: z.array(
    z.strictObject({
      algorithm: z.enum(['rsa', 'ed25519']),
      selector: z.string(),
      type: z.literal('TXT'),
      name: z.string(),
      content: z.string().nullable().openapi({ description: 'null once the record is deleted; an empty p= once revoked' }),
    }),
  ),
  createdAt: at,
  confirmedAt: atOrNull,
  activatedAt: atOrNull,
  retiredAt: atOrNull,
  revokedAt: atOrNull,
  deletedAt: atOrNull,
  next: z.strictObject({ transition: z.string(), at }).nullable(),
});

export const DnsView = z
  .strictObject({
    domain: z.string(),
    nameServers: z.array(z.string()),
    dnssec: z.strictObject({
      status: z.string().nullable(),
      ds: z.string().nullable(),
      key: DnssecKey.nullable(),
      checkedAt: atOrNull,
      waitingFor: z
        .strictObject({ code: z.string().openapi({ example: 'dnssec_pending' }), party: z.literal('customer'), message: z.string(), action: z.string() })
        .nullable(),
    }),
    instructions: z.string(),
    records: z.array(
      z.strictObject({
        purpose: z.string(),
        type: z.string(),
        name: z.string(),
        content: z.string(),
        priority: z.number().int().nullable(),
        live: z.strictObject({
          answers: z.array(z.string()),
          matches: z.boolean().nullable().openapi({ description: 'null: a type this check cannot query (SSHFP)' }),
        }),
      }),
    ),
    importedAt: atOrNull.openapi({ description: "When the domain's existing records were imported into the zone" }),
    customerRecords: z.array(CustomerRecord),
    spf: z.strictObject({ terms: z.array(z.string()), record: z.string(), lookups: z.number().int().nullable() }),
    ptr: z.array(
      z.strictObject({
        family: z.enum(['ipv4', 'ipv6']),
        type: z.literal('PTR'),
        address: z.string().nullable(),
        expected: z.string(),
        answers: z.array(z.string()),
        status: z.enum(CHECK_STATUSES),
        summary: z.string(),
        action: z.string().nullable(),
      }),
    ),
    dkimKeys: z.array(DkimKey),
  })
  .openapi('DnsView');
