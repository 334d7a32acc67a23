/** bench/report.json (figures tracked from commit to commit) and bench/report.md (the same, explained). */
import { PROVISION_STEPS } from '../../provisioning/plan.ts';
import type { ApiResult } from './api.ts';
import type { CriticalPathResult } from './critical-path.ts';
import type { DnsblResult } from './dnsbl.ts';
import type { MachineInfo } from './machine.ts';
import type { OverheadResult } from './overhead.ts';
import { REALISTIC } from './profile.ts';
import type { QueuePickupResult } from './queue-pickup.ts';

export interface BenchResults {
  machine: MachineInfo;
  startedAt: string;
  durationSeconds: number;
  criticalPath: CriticalPathResult;
  overhead: OverheadResult;
  queuePickup: QueuePickupResult;
  dnsbl: DnsblResult;
  api: ApiResult;
}

export const TARGETS = {
  criticalPathRatio: { max: 1.05 },
  stepOverheadMedianMs: { max: 10 },
  stepOverheadP95Ms: { max: 20 },
  concurrentProvisions: { allSucceed: true },
  dnsblRatio: { max: 1.1 },
  apiRatio: { min: 0.4 },
} as const;

function statuses(r: BenchResults) {
  const c = r.overhead.concurrent;
  return {
    criticalPathRatio: r.criticalPath.ratio <= TARGETS.criticalPathRatio.max,
    stepOverheadMedianMs: r.overhead.sequential.medianMs <= TARGETS.stepOverheadMedianMs.max,
    stepOverheadP95Ms: r.overhead.sequential.p95Ms <= TARGETS.stepOverheadP95Ms.max,
    concurrentProvisions: c.succeeded === c.requested,
    dnsblRatio: r.dnsbl.ratio <= TARGETS.dnsblRatio.max,
    apiRatio: r.api.ratio >= TARGETS.apiRatio.min,
  };
}

export function summarise(r: BenchResults) {
  const { machine: m, overhead: o } = r;
  return {
    criticalPathRatio: r.criticalPath.ratio,
    stepOverheadMedianMs: o.sequential.medianMs,
    stepOverheadP95Ms: o.sequential.p95Ms,
    concurrentProvisions: { requested: o.concurrent.requested, succeeded: o.concurrent.succeeded, wallSeconds: o.concurrent.wallSeconds },
    dnsblRatio: r.dnsbl.ratio,
    apiRatio: r.api.ratio,
    apiP99Ms: r.api.server.p99Ms,
    commit: m.commit,
    node: m.node,
    cpus: m.cpus,
    machine: { cpuModel: m.cpuModel, memoryGb: m.memoryGb, os: m.os, loadAverage: m.loadAverage, commitDirty: m.commitDirty },
    startedAt: r.startedAt,
    durationSeconds: r.durationSeconds,
    targets: TARGETS,
    meetsTarget: statuses(r),
    details: {
      criticalPath: r.criticalPath,
      overhead: { ...o, after: undefined },
      queuePickup: r.queuePickup,
      dnsbl: r.dnsbl,
      api: r.api,
      profile: REALISTIC,
    },
  };
}

const ms = (v: number | null) => (v === null || !Number.isFinite(v) ? '–' : `${Math.round(v)} ms`);
const mark = (ok: boolean) => (ok ? 'meets target' : '**below target**');
const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(' | ')} |`, `| ${head.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join('\n');

export function renderMarkdown(r: BenchResults): string {
  const { machine: m, criticalPath: cp, overhead: o, queuePickup: q, dnsbl: d, api: a } = r;
  const ok = statuses(r);
  const seq = o.sequential;
  const con = o.concurrent;
  const onPath = new Set(cp.criticalSteps);
  const stepOrder = (name: string) => PROVISION_STEPS.indexOf(name as (typeof PROVISION_STEPS)[number]);
  const slots = q.bySlots;
  const oneSlot = slots.find((s) => s.slots === 1);
  const manySlots = slots.find((s) => s.slots === o.handlerConcurrency);
  const pathOverhead = cp.steps.filter((s) => onPath.has(s.name)).reduce((n, s) => n + s.overheadMs, 0);
  const medianRun = [...cp.perRun].sort((x, y) => x.ratio - y.ratio)[Math.floor(cp.perRun.length / 2)]!;

  const out: string[] = [];
  out.push('# Benchmarks', '');
  out.push(`Produced by \`npm run bench\` (scripts/bench.ts) on ${r.startedAt}, in ${r.durationSeconds} s.`, '');
  out.push(
    table(
      ['', ''],
      [
        ['commit', `\`${m.commit}\`${m.commitDirty ? ' (working tree had uncommitted changes)' : ''}`],
        ['node', m.node],
        ['machine', `${m.cpus} × ${m.cpuModel}, ${m.memoryGb} GB, ${m.os}`],
        ['load average (1 min)', `${m.loadAverage.start} at start, ${m.loadAverage.end ?? '–'} at end (other processes share the CPUs)`],
      ],
    ),
    '',
  );
  out.push(
    'Each figure is a ratio or a distribution measured within one run, so it holds on a noisy machine better than an absolute time would; absolute times are given for context. Everything runs on the sandbox: the emulators in a child process with the latency profile of the scenario, the product (API + workers, one process) in the benchmark process, an embedded PostgreSQL.',
    '',
  );

  out.push('## Summary', '');
  out.push(
    table(
      ['measure', 'figure', 'target', ''],
      [
        ['critical-path efficiency (wall ÷ critical path)', cp.ratio.toFixed(3), `≤ ${TARGETS.criticalPathRatio.max}`, mark(ok.criticalPathRatio)],
        [
          'control-plane overhead per step, median (p95)',
          `${ms(seq.medianMs)} (${ms(seq.p95Ms)})`,
          `median ≤ ${TARGETS.stepOverheadMedianMs.max} ms (p95 ≤ ${TARGETS.stepOverheadP95Ms.max} ms)`,
          mark(ok.stepOverheadMedianMs && ok.stepOverheadP95Ms),
        ],
        [
          `${con.requested} concurrent provisions, one worker process`,
          `${con.succeeded}/${con.requested} ready in ${con.wallSeconds} s`,
          'all succeed',
          mark(ok.concurrentProvisions),
        ],
        [`DNSBL, ${d.ips.length} IPs × ${d.zones} zones (wall ÷ slowest answer)`, d.ratio.toFixed(3), `≤ ${TARGETS.dnsblRatio.max}`, mark(ok.dnsblRatio)],
        [
          'API: GET server ÷ bare route, requests/s',
          `${a.ratio.toFixed(3)} (${a.server.requestsPerSecond} vs ${a.hello.requestsPerSecond} req/s; p99 ${a.server.p99Ms} ms)`,
          `≥ ${TARGETS.apiRatio.min}`,
          mark(ok.apiRatio),
        ],
      ],
    ),
    '',
  );

  out.push('## 1. Critical-path efficiency', '');
  out.push(
    `${cp.runs} provisions, one after another, with the emulators answering under a realistic profile scaled down (minutes become seconds). For each run: wall time from the run's creation to its end, divided by the longest path through the provisioning DAG (provisioning/plan.ts \`criticalPathMs\`) computed from the same run's measured step durations (\`provisioning_steps.duration_ms\`, the time in the step's own code). The figure is the median over the runs. 1.00 would mean independent steps overlap perfectly and the engine adds nothing between them.`,
    '',
  );
  out.push(
    `Profile: Scaleway API +${REALISTIC.scalewayApiMs} ms per request, boot ${REALISTIC.bootDelayMs} ms; Cloudflare API +${REALISTIC.cloudflareApiMs} ms; DNS +${REALISTIC.dnsMs} ms; DNSBL zones ${Object.values(REALISTIC.dnsblZoneMs).join('/')} ms; SSH +${REALISTIC.sshCommandMs} ms per command; scripts ${Object.entries(
      REALISTIC.scriptMs,
    )
      .map(([k, v]) => `${k} ${v} ms`)
      .join(', ')}. Engine settings scaled alike: ${JSON.stringify(cp.settings)}.`,
    '',
  );
  out.push(
    table(
      ['run', 'wall', 'critical path', 'ratio', 'retried steps'],
      cp.perRun.map((p, i) => [i + 1, ms(p.wallMs), ms(p.criticalPathMs), p.ratio.toFixed(3), p.retriedSteps]),
    ),
    '',
  );
  out.push('Per step (median over the runs); overhead as defined in section 2:', '');
  out.push(
    table(
      ['step', 'work', 'overhead', 'on the critical path'],
      [...cp.steps].sort((x, y) => stepOrder(x.name) - stepOrder(y.name)).map((s) => [s.name, ms(s.workMs), ms(s.overheadMs), onPath.has(s.name) ? 'yes' : '']),
    ),
    '',
  );
  out.push(
    `Critical path: ${cp.criticalSteps.join(' → ')}. The overhead of the ${cp.criticalSteps.length} steps on it adds up to ${ms(pathOverhead)} (median run: wall ${ms(medianRun.wallMs)} − critical path ${ms(medianRun.criticalPathMs)} = ${ms(medianRun.wallMs - medianRun.criticalPathMs)}): the gap is the engine's overhead around each step of the path; no step waited for one it does not depend on.`,
    '',
  );
  const root = cp.steps.find((s) => s.name === cp.criticalSteps[0]);
  out.push(
    `The first steps' overhead (${root ? ms(root.overheadMs) : '–'} for ${root?.name ?? '–'}) counts from the run's \`created_at\`: the moment startRun inserted the run in the Stripe webhook's transaction (\`clock_timestamp()\`), so it includes the rest of that transaction and its commit. Both roots are queued by one insert and one announcement, so each wakes its own handler slot. Event loop delay during the runs: p99 ${ms(cp.eventLoopDelayMs.p99)}, max ${ms(cp.eventLoopDelayMs.max)}.`,
    '',
  );

  out.push('## 2. Control-plane overhead', '');
  out.push('All emulators answer at once (zero latency). For each step *s* of a run:', '');
  out.push("- *work(s)* = `duration_ms`, the time in the step's own code (its provider calls included);");
  out.push("- *ready(s)* = the latest `finished_at` of its dependencies (the run's `created_at` for a root step);");
  out.push(
    "- **overhead(s) = finished_at(s) − ready(s) − work(s)**: queue pick-up (the predecessor's commit, NOTIFY, pg-boss fetch, a free handler slot), the claim transaction, and the success transaction up to the moment it stamps `finished_at`. The commit of that transaction lands in the dependents' overhead, so nothing is counted twice. Steps that needed a second attempt are left out (and counted).",
    '',
  );
  out.push(
    `Parts (medians), from the moment each job reached the engine's handler: *to handler* = ready → handler called; *claim* = handler called → \`started_at\` (claim transaction); *success write* = the rest (claim commit, reading the server row, success transaction up to \`finished_at\`).`,
    '',
  );
  out.push(
    table(
      ['', 'steps', 'median', 'p95', 'to handler', 'claim', 'success write', 'retried'],
      [
        [
          `${seq.provisions} provisions one after another`,
          seq.steps,
          ms(seq.medianMs),
          ms(seq.p95Ms),
          ms(seq.parts.toHandlerMs),
          ms(seq.parts.claimMs),
          ms(seq.parts.successWriteMs),
          seq.retriedSteps,
        ],
        [
          `${con.requested} provisions at once`,
          con.overhead.steps,
          ms(con.overhead.medianMs),
          ms(con.overhead.p95Ms),
          ms(con.overhead.parts.toHandlerMs),
          ms(con.overhead.parts.claimMs),
          ms(con.overhead.parts.successWriteMs),
          con.overhead.retriedSteps,
        ],
      ],
    ),
    '',
  );
  out.push(
    `One provision at zero latency: wall ${ms(seq.medianRunWallMs)} for a critical path of ${ms(seq.medianRunCriticalPathMs)} of step work (medians).`,
    '',
  );
  out.push(
    `**${con.requested} concurrent provisions** on one worker process (\`provisioning.step\` handler concurrency ${o.handlerConcurrency}, the catalog's value, unchanged): ${con.succeeded} ready, ${con.failed} not, in ${con.wallSeconds} s (from the first payment to the last run's end; paid ${con.payConcurrency} webhooks at a time, all in ${con.paidSeconds} s), ${con.stepsPerSecond} steps/s; median run wall ${ms(con.medianRunWallMs)}. Under this load most of a step's overhead is waiting for a free handler slot behind the other runs' steps: that is queueing, and it is what the total time measures.`,
    '',
  );
  out.push(
    `For scale: \`select 1\` on the product's pool takes ${o.dbRoundTripMs.median} ms (median; p95 ${o.dbRoundTripMs.p95} ms). The job queue alone (pg-boss with src/jobs/queue.ts's settings, no engine), from \`send()\` to the handler being called: ${slots.map((s) => `${s.slots} handler slot${s.slots > 1 ? 's' : ''}: median ${s.medianMs} ms, p95 ${s.p95Ms} ms`).join('; ')} (${q.samples} jobs each).`,
    '',
  );

  out.push(`## 3. DNSBL check`, '');
  out.push(
    `The product's checker (\`createDnsblChecker\`) against the DNS emulator, ${d.ips.length} IPs × ${d.zones} zones all at once (as check_blacklists checks the IPv4 and the IPv6 side by side), each zone with its own latency (${Object.entries(
      d.zoneLatencyMs,
    )
      .map(([z, v]) => `${z} ${v} ms`)
      .join(
        ', ',
      )}). Per round, the wall time of all ${d.ips.length * d.zones} queries divided by the time of one query to the slowest zone alone, measured just before; median over ${d.rounds} rounds: wall ${ms(d.medianWallMs)}, slowest answer ${ms(d.medianSlowestAnswerMs)}.`,
    '',
  );

  out.push('## 4. API', '');
  out.push(
    `autocannon in a child process, ${a.connections} connections × ${a.durationSeconds} s per round, ${a.rounds} rounds alternating the two routes after a warm-up; medians over the rounds. Both routes are served by the same app in the same process as the workers (idle by then), behind the same global middleware (request id and log context, secure headers, body limit). The server route adds authentication (session JWT + session row), the per-credential rate limit (raised with RATE_LIMIT_API_PER_MINUTE so it never answers 429), workspace authorisation and the server's detail (IPs, steps), with ${con.requested + seq.provisions} servers in the database. The session's principal, the member's role and the server's view come from the API process's read cache (src/api/read-cache.ts) once read: triggers NOTIFY every process of a write to the tables they come from, which evicts them at once.`,
    '',
  );
  const rt = a.roundTrips;
  out.push(
    table(
      ['route', 'requests/s', 'p50', 'p99', 'non-2xx', 'errors'],
      [
        [
          '`GET /v1/workspaces/{ws}/servers/{id}` (authenticated)',
          a.server.requestsPerSecond,
          `${a.server.p50Ms} ms`,
          `${a.server.p99Ms} ms`,
          a.server.non2xx,
          a.server.errors,
        ],
        ['`GET /bench/hello` (bare)', a.hello.requestsPerSecond, `${a.hello.p50Ms} ms`, `${a.hello.p99Ms} ms`, a.hello.non2xx, a.hello.errors],
        ...(rt
          ? [
              [
                `\`GET /bench/round-trips?n=${rt.statements}\` (bare + ${rt.statements} × \`select 1\`, for scale)`,
                Math.round(rt.requestsPerSecond),
                `${rt.p50Ms} ms`,
                `${rt.p99Ms} ms`,
                rt.non2xx,
                rt.errors,
              ],
            ]
          : []),
      ],
    ),
    '',
  );
  out.push(
    `One server-route request answered from the read cache, as in the rounds, sends ${a.statementsPerRequest} SQL statements to PostgreSQL (counted on the product's pool); with the cache cleared first (the first request, or one after a write evicted its answers) it sends ${a.statementsCold}.${rt ? ' The last row is the bare route plus that many trivial round trips to PostgreSQL, measured once after the rounds: the cost of the round trips alone, without building queries or mapping rows.' : ''}`,
    '',
  );
  const top = a.profile.cpu.origins
    .slice(0, 7)
    .map((o) => `${o.origin} ${Math.round(o.share * 100)} %`)
    .join(', ');
  out.push(
    `CPU profile of the API process during one more server-route round (${a.profile.requestsPerSecond} requests/s while profiled; ${Math.round(a.profile.cpu.idleShare * 100)} % idle, waiting on PostgreSQL), self time by origin as a share of the busy time: ${top}.`,
    '',
  );

  out.push('## Below target, and why', '');
  const notes = explain(r, ok, { oneSlot, manySlots });
  out.push(notes.length ? notes.join('\n\n') : 'Nothing: every figure meets its target in this run.', '');
  out.push('## Reproduce', '');
  out.push(
    "```sh\nnpm run bench                      # writes bench/report.md and bench/report.json\nBENCH_PROVISIONS=50 npm run bench  # fewer concurrent provisions\nBENCH_LOG=1 npm run bench          # the product's warnings on stderr\n```",
    '',
  );
  return out.join('\n');
}

function explain(
  r: BenchResults,
  ok: ReturnType<typeof statuses>,
  q: { oneSlot?: { medianMs: number } | undefined; manySlots?: { medianMs: number; slots: number } | undefined },
): string[] {
  const notes: string[] = [];
  const seq = r.overhead.sequential;
  if (!ok.stepOverheadMedianMs || !ok.stepOverheadP95Ms || !ok.criticalPathRatio) {
    const parts = seq.parts;
    const heading = [
      !ok.stepOverheadMedianMs || !ok.stepOverheadP95Ms ? `step overhead (${Math.round(seq.medianMs)} ms median, ${Math.round(seq.p95Ms)} ms p95)` : '',
      !ok.criticalPathRatio ? `critical-path efficiency (${r.criticalPath.ratio.toFixed(3)})` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    notes.push(
      [
        `**${heading[0]!.toUpperCase()}${heading.slice(1)}.**`,
        `The overhead splits into: ready → handler ${ms(parts.toHandlerMs)}, claim ${ms(parts.claimMs)}, success write ${ms(parts.successWriteMs)}.`,
        q.oneSlot && q.manySlots
          ? `The queue alone accounts for ${q.manySlots.medianMs} ms of the first part (pg-boss with ${q.manySlots.slots} handler slots wakes every idle slot on each NOTIFY and each one runs the locking fetch; with 1 slot: ${q.oneSlot.medianMs} ms).`
          : '',
        "The engine's path per step (provisioning/engine.ts, src/jobs/queue.ts): the success is BEGIN sent together with four prepared statements on a reserved connection, then one insert of the dependents' jobs with pg-boss's fetch of the next ready job pipelined behind it (taken for the same handler slot and committed with the rest), then COMMIT: three round trips; the slot runs the step it took with no fetch of its own and wakes only as many other idle slots as there are further jobs; the claim is one prepared statement beside the server's read.",
        `On this machine (load average ${r.machine.loadAverage.start} on ${r.machine.cpus} CPUs when the run started) each round trip costs the process more than \`select 1\`'s latency suggests, and the same process runs the health checks of the servers already ready.`,
        ok.criticalPathRatio
          ? `Critical-path efficiency meets its target anyway (${r.criticalPath.ratio.toFixed(3)}): with steps of seconds, ${r.criticalPath.criticalSteps.length} × this overhead is a few per cent of the run.`
          : '',
      ]
        .filter(Boolean)
        .join(' '),
    );
  }
  if (!ok.concurrentProvisions) {
    const c = r.overhead.concurrent;
    notes.push(
      `**Concurrent provisions: ${c.succeeded}/${c.requested} ready.** ${c.settledBeforeDeadline ? `${c.failed} failed (see the report JSON and BENCH_LOG=1 for the reasons).` : `The benchmark's deadline (${Math.round(c.deadlineSeconds / 60)} min) passed with ${c.failed} still provisioning at ${c.stepsPerSecond} steps/s.`}`,
    );
  }
  if (!ok.dnsblRatio) {
    notes.push(
      `**DNSBL (${r.dnsbl.ratio.toFixed(3)}).** Wall ${ms(r.dnsbl.medianWallMs)} against a slowest answer of ${ms(r.dnsbl.medianSlowestAnswerMs)}: the queries do not all leave at once.`,
    );
  }
  if (!ok.apiRatio) {
    const a = r.api;
    const rt = a.roundTrips;
    const share = (o: string) => Math.round((a.profile.cpu.origins.find((x) => x.origin === o)?.share ?? 0) * 100);
    const perRequest = (rps: number) => 1000 / rps;
    const hello = perRequest(a.hello.requestsPerSecond);
    // At the target, a request may take 1 / 0.4 = 2.5 × the bare route's time: 1.5 × more.
    const budget = hello * (1 / TARGETS.apiRatio.min - 1);
    const perTrip = rt ? (perRequest(rt.requestsPerSecond) - hello) / rt.statements : null;
    notes.push(
      [
        `**API (${a.ratio.toFixed(3)}).** The server route serves ${a.server.requestsPerSecond} requests/s against ${a.hello.requestsPerSecond} for the bare route: ${perRequest(a.server.requestsPerSecond).toFixed(2)} ms per request against ${hello.toFixed(2)} ms (10 connections; time per request = 1 / throughput).`,
        `At the target a request could spend ${budget.toFixed(2)} ms more than the bare route.`,
        rt && perTrip !== null
          ? `Each round trip to PostgreSQL adds ${perTrip.toFixed(2)} ms here (bare route + ${rt.statements} × \`select 1\`: ${rt.requestsPerSecond} requests/s), so the route's ${rt.statements} statements alone take ${(perTrip * rt.statements).toFixed(2)} ms, ${((perTrip * rt.statements) / budget).toFixed(1)} × the whole budget, before any query is built or row mapped; in the profile the write system call (sending queries and responses) is ${share('socket writes (system calls)')} % of the busy time.`
          : '',
        `The rest: building queries and mapping rows (drizzle-orm ${share('drizzle-orm')} %, postgres ${share('postgres')} %), Node's HTTP, streams and WebCrypto (the session JWT's HMAC) in node internals ${share('node internals')} %, the garbage collector ${share('garbage collector')} %.`,
        `The rounds are served from the read cache (${a.statementsPerRequest} statements per request; ${a.statementsCold} when cold), so what is left is Node's HTTP and the middleware.`,
      ]
        .filter(Boolean)
        .join(' '),
    );
  }
  return notes;
}
