/** What the figures were measured on: the commit, Node, the machine and how busy it was. */
import { execFileSync } from 'node:child_process';
import { arch, cpus, loadavg, platform, release, totalmem } from 'node:os';

export interface MachineInfo {
  commit: string;
  /** Uncommitted changes in the working tree when the benchmark ran. */
  commitDirty: boolean;
  node: string;
  cpus: number;
  cpuModel: string;
  memoryGb: number;
  os: string;
  /** 1-minute load average when the benchmark started and ended (other processes compete for the CPUs). */
  loadAverage: { start: number; end: number | null };
}

function git(args: string[]): string | null {
  try {
    return execFileSync('git', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export function describeMachine(): MachineInfo {
  const list = cpus();
  return {
    commit: git(['rev-parse', 'HEAD']) ?? 'unknown',
    commitDirty: (git(['status', '--porcelain', '--untracked-files=no']) ?? '') !== '',
    node: process.version,
    cpus: list.length,
    cpuModel: list[0]?.model.trim() ?? 'unknown',
    memoryGb: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    os: `${platform()} ${release()} ${arch()}`,
    loadAverage: { start: Math.round(loadavg()[0]! * 100) / 100, end: null },
  };
}

export const currentLoad = () => Math.round(loadavg()[0]! * 100) / 100;
