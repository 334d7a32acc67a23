/**
 * The two steps of an upgrade run around the provisioning steps' install and harden:
 * `backup_before_change` (the mail gets a fresh backup before anything on the server changes)
 * and `check_after_change`, the gate of a rollout: every mail service runs, every managed file is
 * what was just applied, and the services answer with TLS (verify-services.sh). A failure names
 * the check, which the rollout puts in its halt reason and in the ops alert.
 */
import { backupBeforeChange as takeBackupBeforeChange } from '../../src/backups/before-change.ts';
import { AppError } from '../../src/errors.ts';
import { observeHost } from '../../src/fleet/observe.ts';
import { RemoteCommandError } from '../../src/providers/ssh/interface.ts';
import type { StepDefinition } from '../context.ts';
import { runScript, withSession } from '../remote.ts';

/** A gate check failed; `check` is the health check's name (services, drift, ports). */
export class GateCheckFailedError extends AppError {
  readonly check: string;
  constructor(check: string, detail: string, retryable: boolean) {
    super({ code: 'gate_check_failed', status: 503, title: 'A check failed after the change', detail: `health check "${check}" failed: ${detail}`, retryable });
    this.check = check;
  }
}

/** The check a gate failure named, read back from the step's error text. */
export const failedCheckOf = (error: string | null | undefined): string | null => /health check "([a-z_]+)" failed/.exec(error ?? '')?.[1] ?? null;

export const backupBeforeChange: StepDefinition = {
  name: 'backup_before_change',
  async run({ deps, server, log }) {
    if (!deps.backups) return { skipped: 'backups are not configured' };
    const result = await takeBackupBeforeChange(deps.backups, server.id, 'upgrade');
    if (result.outcome === 'taken') log(`backup before the change: snapshot ${result.snapshotId}`);
    else if (result.outcome === 'fresh') log(`backup before the change: the one of ${result.finishedAt} is recent enough`);
    else log(`no backup before the change: ${result.why}`);
    return { backup: result.outcome };
  },
};

export const checkAfterChange: StepDefinition = {
  name: 'check_after_change',
  // Services just restarted may still be coming up: a few attempts with backoff before the verdict.
  maxAttempts: 4,
  async run({ deps, server, log }) {
    const seen = await observeHost(deps, server);
    const down = Object.entries(seen.services)
      .filter(([, s]) => s.active !== 'active')
      .map(([unit, s]) => `${unit} is ${s.active}`);
    if (down.length > 0) throw new GateCheckFailedError('services', down.join(', '), true);
    log(`${Object.keys(seen.services).length} services active`);
    if (seen.drifted.length > 0) throw new GateCheckFailedError('drift', `not as applied: ${seen.drifted.map((d) => d.path).join(', ')}`, false);
    log('every managed file is as applied');
    try {
      await withSession(deps, server, (session) => runScript(session, 'verify-services.sh', log));
    } catch (err) {
      if (!(err instanceof RemoteCommandError)) throw err;
      throw new GateCheckFailedError('ports', err.message, err.retryable);
    }
    return { services: Object.keys(seen.services).length };
  },
};
