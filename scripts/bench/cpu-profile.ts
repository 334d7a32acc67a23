/**
 * A CPU profile of this process (V8's sampling profiler through the
 * inspector), summarised as self time per origin: a package, mailplane's own
 * code, socket writes (the write system call: each PostgreSQL query and each
 * HTTP response is one), the garbage collector, idle.
 */
import { Session } from 'node:inspector/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  totalMs: number;
  /** Self time by origin, largest first; shares of the busy (non-idle) time. */
  origins: { origin: string; ms: number; share: number }[];
  idleShare: number;
}

const SOCKET_WRITES = new Set(['writeBuffer', 'writev', 'writeUtf8String', 'writeLatin1String', 'writeAsciiString']);

function originOf(frame: ProfileNode['callFrame']): string {
  const { functionName: fn, url } = frame;
  if (fn === '(idle)') return 'idle';
  if (fn === '(garbage collector)') return 'garbage collector';
  if (SOCKET_WRITES.has(fn) && !url) return 'socket writes (system calls)';
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(url);
  if (pkg) return pkg[1]!;
  if (url.includes('/src/') || url.includes('/provisioning/')) return 'mailplane (src, provisioning)';
  if (url.startsWith('node:') || (url && !url.startsWith('file:'))) return 'node internals';
  return 'other (native, program)';
}

export async function profileWhile<T>(work: () => Promise<T>): Promise<{ result: T; profile: ProfileSummary }> {
  const session = new Session();
  session.connect();
  try {
    await session.post('Profiler.enable');
    await session.post('Profiler.start');
    const result = await work();
    const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
    return { result, profile: summarise(profile) };
  } finally {
    session.disconnect();
  }
}

function summarise(profile: Profile): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const micros = new Map<string, number>();
  profile.samples.forEach((id, i) => {
    const origin = originOf(byId.get(id)!.callFrame);
    micros.set(origin, (micros.get(origin) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const total = [...micros.values()].reduce((a, b) => a + b, 0);
  const idle = micros.get('idle') ?? 0;
  const busy = Math.max(1, total - idle);
  const origins = [...micros.entries()]
    .filter(([o]) => o !== 'idle')
    .map(([origin, us]) => ({ origin, ms: Math.round(us / 1000), share: Math.round((us / busy) * 1000) / 1000 }))
    .sort((a, b) => b.ms - a.ms);
  return { totalMs: Math.round(total / 1000), origins, idleShare: Math.round((idle / Math.max(1, total)) * 1000) / 1000 };
}
