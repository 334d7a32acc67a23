/**
 * Keeps /metrics counters monotonic across erasure. Counters are computed from
 * rows (runs, steps) at scrape time; before an erasure deletes a workspace's
 * servers (and with them their runs and steps), what those rows contributed is
 * added to `metric_offsets`, in the same transaction, and collectMetrics adds
 * the offsets back. Only numbers and label values (run kind, status, step name,
 * bucket bound) are kept: nothing that says whose they were.
 */
import { sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.ts';

/** Step durations span seconds (DNS) to many minutes (boot, install). */
export const STEP_DURATION_BUCKETS = [1, 5, 15, 30, 60, 120, 300, 600, 1800] as const;

/** Canonical label text: sorted keys, so one sample has one row. */
export const labelKey = (labels: Record<string, string>) => JSON.stringify(Object.fromEntries(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))));

export async function recordErasedServerMetrics(tx: DbOrTx, serverIds: string[], buckets: readonly number[] = STEP_DURATION_BUCKETS): Promise<void> {
  if (serverIds.length === 0) return;
  const ids = sql`array[${sql.join(
    serverIds.map((id) => sql`${id}::uuid`),
    sql`, `,
  )}]`;
  const runs = sql`select id from provisioning_runs where server_id = any(${ids})`;
  const bucketRows = sql.join(
    buckets.map(
      (b) => sql`
    select 'mailplane_provisioning_step_duration_seconds_bucket', jsonb_build_object('le', ${String(b)}::text, 'step', name)::text, count(*)::float8
    from provisioning_steps where run_id in (${runs}) and duration_ms is not null and duration_ms <= ${b * 1000} group by name`,
    ),
    sql` union all `,
  );
  await tx.execute(sql`
    insert into metric_offsets (metric, labels, value)
    select metric, labels, sum(value) from (
      select 'mailplane_provisioning_runs_total' as metric, jsonb_build_object('kind', kind, 'status', status)::text as labels, count(*)::float8 as value
        from provisioning_runs where server_id = any(${ids}) group by kind, status
      union all
      select 'mailplane_provisioning_step_retries_total', jsonb_build_object('step', name)::text, sum(greatest(attempt - 1, 0))::float8
        from provisioning_steps where run_id in (${runs}) group by name
      union all
      select 'mailplane_provisioning_step_duration_seconds_count', jsonb_build_object('step', name)::text, count(*)::float8
        from provisioning_steps where run_id in (${runs}) and duration_ms is not null group by name
      union all
      select 'mailplane_provisioning_step_duration_seconds_sum', jsonb_build_object('step', name)::text, sum(duration_ms)::float8 / 1000
        from provisioning_steps where run_id in (${runs}) and duration_ms is not null group by name
      union all ${bucketRows}
    ) erased group by metric, labels
    on conflict (metric, labels) do update set value = metric_offsets.value + excluded.value`);
}

/** metric → label key → value */
export async function loadMetricOffsets(db: DbOrTx): Promise<Map<string, Map<string, number>>> {
  const rows = [...(await db.execute<{ metric: string; labels: string; value: number }>(sql`select metric, labels, value from metric_offsets`))];
  const out = new Map<string, Map<string, number>>();
  for (const r of rows) {
    if (!out.has(r.metric)) out.set(r.metric, new Map());
    // jsonb's text form spaces its JSON; re-key it the way collectMetrics spells labels.
    out.get(r.metric)!.set(labelKey(JSON.parse(r.labels) as Record<string, string>), Number(r.value));
  }
  return out;
}
