/**
 * The fleet's admin views as /openapi.json documents them: a server's stack (ServerStack) and
 * rollouts (RolloutSummary in the list, Rollout with every server's state). Strict objects, so a
 * field a view gains without being documented fails the tests.
 */
import { z } from '@hono/zod-openapi';
import { ROLLOUT_SERVER_STATUSES, ROLLOUT_STATUSES } from '../../db/schema/index.ts';

const at = z.string().openapi({ description: 'ISO 8601 timestamp' });
const atOrNull = at.nullable();

export const ServerStack = z
  .strictObject({
    serverId: z.string(),
    version: z.string().nullable().openapi({ description: 'The stack version last applied; null before versions were kept' }),
    release: z.string().nullable(),
    appliedAt: atOrNull,
    previousVersion: z.string().nullable(),
    current: z.strictObject({ version: z.string(), release: z.string(), upToDate: z.boolean() }),
    drift: z
      .strictObject({
        checkedAt: at,
        nextCheckAt: atOrNull,
        files: z.array(
          z.strictObject({
            path: z.string(),
            secret: z.boolean(),
            missing: z.boolean(),
            diff: z.string().nullable().optional().openapi({ description: 'Staff: the diff of a non-secret file (null for a secret one)' }),
          }),
        ),
        outdated: z.array(z.string()).openapi({ description: 'Files a rollout to the current version would change' }),
        packagesChanged: z.array(z.strictObject({ name: z.string(), applied: z.string().nullable(), now: z.string().nullable() })),
        servicesDown: z.array(z.strictObject({ unit: z.string(), enabled: z.string(), active: z.string() })),
        updates: z.strictObject({
          pending: z.number().int(),
          security: z.array(z.string()),
          rebootRequired: z.boolean(),
          rebootPackages: z.array(z.string()),
          kernel: z.strictObject({ running: z.string(), installed: z.string().nullable() }),
        }),
      })
      .nullable()
      .openapi({ description: 'What the host was last seen holding; null before the first drift check' }),
    maintenanceWindow: z.strictObject({
      days: z.array(z.number().int()),
      startMinute: z.number().int(),
      durationMinutes: z.number().int(),
      source: z.enum(['server', 'workspace', 'default']),
      text: z.string(),
      open: z.boolean(),
      nextOpening: at,
    }),
    lastRebootAt: atOrNull,
  })
  .openapi('ServerStack');

export const RolloutSummary = z
  .strictObject({
    id: z.string(),
    targetVersion: z.string(),
    status: z.enum(ROLLOUT_STATUSES),
    haltReason: z.string().nullable(),
    createdAt: at,
    finishedAt: atOrNull,
  })
  .openapi('RolloutSummary');

export const Rollout = RolloutSummary.extend({
  haltedServerId: z.string().nullable(),
  startedBy: z.string(),
  counts: z.record(z.string(), z.number().int()).openapi({ description: 'Servers per state' }),
  servers: z.array(
    z.strictObject({
      serverId: z.string(),
      hostname: z.string(),
      wave: z.number().int(),
      status: z.enum(ROLLOUT_SERVER_STATUSES),
      fromVersion: z.string().nullable(),
      runId: z.string().nullable(),
      rollbackRunId: z.string().nullable(),
      failedCheck: z.string().nullable(),
      error: z.string().nullable(),
      updatedAt: at,
    }),
  ),
}).openapi('Rollout');
