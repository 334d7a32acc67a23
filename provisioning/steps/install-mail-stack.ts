/**
 * install_mail_stack: upload the rendered tree and scripts, run the idempotent installer, and
 * record which stack version the server now has (file digests, release). The version is the
 * current one, or the one the run names (a rollout's target, or the previous one on a rollback).
 */
import { recordApplied, renderStack, stackForRun } from '../../src/fleet/applied.ts';
import type { StepDefinition } from '../context.ts';
import { runScript, withSession } from '../remote.ts';
import { backupIfRunning } from './backup-steps.ts';

export const installMailStack: StepDefinition = {
  name: 'install_mail_stack',
  async run(ctx) {
    const { deps, server, run, log } = ctx;
    // Re-installing a live server changes it: its mail gets a fresh backup first.
    await backupIfRunning(ctx, 'install_mail_stack');
    const stack = await stackForRun(deps, run.params);
    const files = await renderStack(deps, server, stack);
    await withSession(deps, server, async (session) => {
      await session.upload(files.map((f) => ({ path: f.path, content: f.content, mode: f.mode })));
      log(`uploaded ${files.length} files of stack version ${stack.version} (release ${stack.release})`);
      await runScript(session, 'install-mail-stack.sh', log);
    });
    await recordApplied(deps.database.db, server.id, stack, files, new Date(deps.clock.now()));
    return { files: files.length, stackVersion: stack.version, release: stack.release };
  },
};
