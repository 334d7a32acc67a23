/**
 * The numbers behind GET /metrics, computed from PostgreSQL at scrape time:
 * every process (API or worker, any machine) answers the same, and nothing is
 * lost on restart. Queue depths come from pg-boss's queue statistics, which
 * its monitor refreshes periodically (not at every job).
 */
import { sql } from 'drizzle-orm';
import type { Database } from '../db/client.ts';
import { JOB_CATALOG } from '../jobs/catalog.ts';
import type { JobQueue } from '../jobs/queue.ts';
import { labelKey, loadMetricOffsets, STEP_DURATION_BUCKETS } from './metric-offsets.ts';
import { MetricsText } from './prometheus.ts';

export { STEP_DURATION_BUCKETS } from './metric-offsets.ts';

type Row = Record<string, unknown>;
const num = (v: unknown) => Number(v ?? 0);

export async function collectMetrics(deps: { database: Database; queue: JobQueue }): Promise<string> {
  const db = deps.database.db;
  const out = new MetricsText();
  const rows = async (query: ReturnType<typeof sql>) => [...(await db.execute<Row>(query))];

  // Counters are rows plus what erased rows had contributed (metric-offsets.ts): never lower than before.
  const offsets = await loadMetricOffsets(db);
  const counter = (metric: string, samples: Array<{ labels: Record<string, string>; value: number }>) => {
    const extra = new Map(offsets.get(metric) ?? []);
    const merged = samples.map((sample) => {
      const key = labelKey(sample.labels);
      const value = sample.value + (extra.get(key) ?? 0);
      extra.delete(key);
      return { labels: sample.labels, value };
    });
    for (const [key, value] of extra) merged.push({ labels: JSON.parse(key) as Record<string, string>, value });
    return merged;
  };

  const runs = await rows(sql`select kind, status, count(*) as n from provisioning_runs group by kind, status order by kind, status`);
  out.family(
    'mailplane_provisioning_runs_total',
    'counter',
    'Provisioning runs by kind and outcome (running, succeeded, failed, cancelled).',
    counter(
      'mailplane_provisioning_runs_total',
      runs.map((r) => ({ labels: { kind: String(r['kind']), status: String(r['status']) }, value: num(r['n']) })),
    ),
  );

  // Bucket bounds are constants of this file, not input: safe to inline.
  const bucketColumns = sql.raw(STEP_DURATION_BUCKETS.map((b, i) => `count(*) filter (where duration_ms <= ${b * 1000}) as b${i}`).join(', '));
  const durations = await rows(sql`select name, ${bucketColumns}, sum(duration_ms) as sum_ms, count(*) as n
    from provisioning_steps where duration_ms is not null group by name order by name`);
  const histogramOffset = (part: string, labels: Record<string, string>) =>
    offsets.get(`mailplane_provisioning_step_duration_seconds_${part}`)?.get(labelKey(labels)) ?? 0;
  const steps = new Set([
    ...durations.map((r) => String(r['name'])),
    ...[...(offsets.get('mailplane_provisioning_step_duration_seconds_count')?.keys() ?? [])].map((k) => (JSON.parse(k) as { step: string }).step),
  ]);
  const byStep = new Map(durations.map((r) => [String(r['name']), r]));
  out.histogram(
    'mailplane_provisioning_step_duration_seconds',
    'Duration of the successful attempt of each provisioning step.',
    [...steps].sort().map((step) => {
      const r = byStep.get(step) ?? {};
      return {
        labels: { step },
        buckets: STEP_DURATION_BUCKETS.map((b, i) => [b, num(r[`b${i}`]) + histogramOffset('bucket', { le: String(b), step })] as [number, number]),
        sum: num(r['sum_ms']) / 1000 + histogramOffset('sum', { step }),
        count: num(r['n']) + histogramOffset('count', { step }),
      };
    }),
  );

  const retries = await rows(sql`select name, sum(greatest(attempt - 1, 0)) as n from provisioning_steps group by name order by name`);
  out.family(
    'mailplane_provisioning_step_retries_total',
    'counter',
    'Attempts beyond the first, per provisioning step.',
    counter(
      'mailplane_provisioning_step_retries_total',
      retries.map((r) => ({ labels: { step: String(r['name']) }, value: num(r['n']) })),
    ),
  );

  const queues = await deps.queue.boss.getQueues(Object.keys(JOB_CATALOG));
  out.family(
    'mailplane_job_queue_depth',
    'gauge',
    'Jobs per queue and state (from pg-boss queue statistics).',
    queues.flatMap((q) => [
      { labels: { queue: q.name, state: 'ready' }, value: q.readyCount ?? 0 },
      { labels: { queue: q.name, state: 'deferred' }, value: q.deferredCount ?? 0 },
      { labels: { queue: q.name, state: 'active' }, value: q.activeCount ?? 0 },
    ]),
  );

  // One alert per listed IP names its zones (details.zones); alerts from before that name one (details.zone).
  const listings = await rows(sql`select z->>'zone' as zone, count(*) as n from alerts,
    jsonb_array_elements(coalesce(details->'zones', jsonb_build_array(jsonb_build_object('zone', details->>'zone')))) as z
    where kind = 'ip_listed' and resolved_at is null group by 1 order by 1`);
  out.family(
    'mailplane_blacklist_listings',
    'gauge',
    'Live server IPs currently listed, per DNSBL zone (open ip_listed alerts).',
    listings.map((r) => ({ labels: { zone: String(r['zone']) }, value: num(r['n']) })),
  );

  const open = await rows(sql`select kind, severity, count(*) as n from alerts where resolved_at is null group by kind, severity order by kind, severity`);
  out.family(
    'mailplane_alerts_open',
    'gauge',
    'Alerts not resolved yet, by kind and severity.',
    open.map((r) => ({ labels: { kind: String(r['kind']), severity: String(r['severity']) }, value: num(r['n']) })),
  );

  const deliveries = await rows(sql`select channel, status, count(*) as n from alert_deliveries group by channel, status order by channel, status`);
  out.family(
    'mailplane_alert_deliveries',
    'gauge',
    'Alert deliveries by channel and status (pending, delivered, failed).',
    deliveries.map((r) => ({ labels: { channel: String(r['channel']), status: String(r['status']) }, value: num(r['n']) })),
  );

  // Per live server, its latest successful backup (src/backups). Gauges: they follow the servers, erasure included.
  const backups = await rows(sql`select distinct on (r.server_id) r.server_id, r.duration_ms, r.size_bytes,
      extract(epoch from (now() - r.finished_at)) as age
    from backup_runs r join servers s on s.id = r.server_id
    where r.status = 'succeeded' and s.status <> 'deleted' order by r.server_id, r.finished_at desc`);
  out.family(
    'mailplane_backup_last_success_age_seconds',
    'gauge',
    'Seconds since the latest successful backup, per server.',
    backups.map((r) => ({ labels: { server: String(r['server_id']) }, value: Math.max(0, Math.round(num(r['age']))) })),
  );
  out.family(
    'mailplane_backup_duration_seconds',
    'gauge',
    'Duration of the latest successful backup, per server.',
    backups.map((r) => ({ labels: { server: String(r['server_id']) }, value: num(r['duration_ms']) / 1000 })),
  );
  out.family(
    'mailplane_backup_size_bytes',
    'gauge',
    'Bytes in the latest successful backup snapshot, per server.',
    backups.map((r) => ({ labels: { server: String(r['server_id']) }, value: num(r['size_bytes']) })),
  );

  return out.toString();
}
