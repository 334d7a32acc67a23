/**
 * How a rollout splits the fleet: one canary, then a small share (ROLLOUT_CANARY_PERCENT of the
 * fleet, at least one server), then the rest in waves of at most ROLLOUT_WAVE_SIZE. A wave starts
 * only when every server of the one before it passed its checks.
 */
export function planWaves<T>(servers: readonly T[], opts: { canaryPercent: number; waveSize: number }): T[][] {
  if (servers.length === 0) return [];
  const waves: T[][] = [[servers[0]!]];
  const rest = servers.slice(1);
  const share = Math.min(rest.length, Math.max(1, Math.ceil((servers.length * opts.canaryPercent) / 100)), opts.waveSize);
  if (share > 0) waves.push(rest.slice(0, share));
  for (let i = share; i < rest.length; i += opts.waveSize) waves.push(rest.slice(i, i + opts.waveSize));
  return waves;
}
