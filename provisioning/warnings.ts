/** Server warnings shown to the customer; one per code, the newest wins. */
import { eq } from 'drizzle-orm';
import { servers, type ServerWarning } from '../src/db/schema/index.ts';
import type { ProvisioningDeps } from './context.ts';

export async function setWarning(deps: ProvisioningDeps, serverId: string, code: string, message: string | null): Promise<void> {
  await deps.database.db.transaction(async (tx) => {
    const [row] = await tx.select({ warnings: servers.warnings }).from(servers).where(eq(servers.id, serverId)).for('update');
    const kept: ServerWarning[] = (row?.warnings ?? []).filter((w) => w.code !== code);
    if (message) kept.push({ code, message, at: new Date(deps.clock.now()).toISOString() });
    await tx.update(servers).set({ warnings: kept }).where(eq(servers.id, serverId));
  });
}
