/** install_mail_stack: upload the rendered tree and scripts, run the idempotent installer. */
import { renderServerTree } from '../../src/mailstack/render.ts';
import type { StepDefinition } from '../context.ts';
import { mailstackInput } from '../mailstack-input.ts';
import { runScript, withSession } from '../remote.ts';
import { backupIfRunning } from './backup-steps.ts';

export const installMailStack: StepDefinition = {
  name: 'install_mail_stack',
  async run(ctx) {
    const { deps, server, log } = ctx;
    // Re-installing a live server changes it: its mail gets a fresh backup first.
    await backupIfRunning(ctx, 'install_mail_stack');
    const files = renderServerTree(await mailstackInput(deps, server));
    await withSession(deps, server, async (session) => {
      await session.upload(files.map((f) => ({ path: f.path, content: f.content, mode: f.mode })));
      log(`uploaded ${files.length} files`);
      await runScript(session, 'install-mail-stack.sh', log);
    });
    return { files: files.length };
  },
};
