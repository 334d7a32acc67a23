/**
 * A bounded shutdown: every part of a stop gets a time limit and a log line
 * naming what it waits for, so a stop never hangs silently (a supervisor would
 * kill us mid-way and leave the embedded PostgreSQL behind). A second signal
 * means "hurry": the parts still to come get only a short grace, but each still
 * runs — the database in particular is always stopped, never abandoned.
 */
import type { Logger } from './log.ts';

/** The whole stop, work in flight included, finishes within this (in-flight steps are idempotent and picked up again). */
export const STOP_BUDGET_MS = 9_000;
/** What each remaining part gets once a second signal asked us to hurry. */
export const HURRY_GRACE_MS = 500;

export class Shutdown {
  private readonly deadline: number;
  private readonly log: Logger;
  readonly hurry: AbortSignal;

  constructor(opts: { log: Logger; hurry?: AbortSignal; budgetMs?: number }) {
    this.log = opts.log;
    this.hurry = opts.hurry ?? new AbortController().signal;
    this.deadline = performance.now() + (opts.budgetMs ?? STOP_BUDGET_MS);
  }

  /** The time a part may take: its own bound, within what is left of the budget, short once hurried. */
  allowance(boundMs: number, outsideBudget = false): number {
    const left = outsideBudget ? boundMs : Math.max(0, this.deadline - performance.now());
    return Math.max(100, Math.min(boundMs, left, this.hurry.aborted ? HURRY_GRACE_MS : Infinity));
  }

  /**
   * Runs one part of the stop. It gets `signal` aborted when its time is up (or a hurry comes),
   * so it can cut short what it waits for; past its time it is left behind, logged by name.
   * `outsideBudget`: a part whose own bound is the limit (real-host machines powering off).
   */
  async step(
    name: string,
    boundMs: number,
    part: (ctx: { signal: AbortSignal; timeoutMs: number }) => Promise<void>,
    opts: { outsideBudget?: boolean } = {},
  ): Promise<void> {
    const timeoutMs = this.allowance(boundMs, opts.outsideBudget);
    const controller = new AbortController();
    const onHurry = () => controller.abort();
    this.hurry.addEventListener('abort', onHurry, { once: true });
    this.log.info({ part: name, upToMs: timeoutMs }, `stopping: waiting for ${name}`);
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => {
        controller.abort();
        resolve('timeout');
      }, timeoutMs);
    });
    try {
      const outcome = await Promise.race([part({ signal: controller.signal, timeoutMs }).then(() => 'done' as const), timedOut]);
      if (outcome === 'timeout') this.log.warn({ part: name, afterMs: timeoutMs }, `stopping: gave up waiting for ${name}`);
    } catch (err) {
      this.log.error({ err, part: name }, `stopping: ${name} failed`);
    } finally {
      clearTimeout(timer);
      this.hurry.removeEventListener('abort', onHurry);
    }
  }
}
