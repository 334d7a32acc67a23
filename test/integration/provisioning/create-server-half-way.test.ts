/**
 * A create that fails half-way: Scaleway made the instance, then refused both
 * its user data and its removal. The retried step finds the stopped instance
 * by its tag and must give it the user data before it first boots, or it
 * would come up without the host key the SSH steps pin.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { servers } from '../../../src/db/schema/index.ts';
import { startHarness, type Harness } from '../../support/provisioning.ts';

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(() => h?.close());

describe('create_server after a create that failed half-way', () => {
  it('reuses the stopped instance, sets its user data before its first boot, and reaches ready with one instance', async () => {
    const faults = h.sandbox.scaleway!.faults;
    // Each refused twice: the adapter repeats a PATCH or DELETE once by itself.
    faults.failNext({ method: 'PATCH', path: /\/servers\/[^/]+\/user_data\/cloud-init$/, times: 2 });
    faults.failNext({ method: 'DELETE', path: /\/servers\/[^/]+$/, times: 2 });
    const { token, workspaceId } = await h.customer('owner@half-way.example');
    const { serverId } = await h.readyServer(token, workspaceId, 'half-way.example');

    const [server] = await h.database.db.select().from(servers).where(eq(servers.id, serverId));
    const tagged = h.sandbox.scaleway!.listServers().filter((s) => s.tags.some((t) => t.includes(serverId)));
    expect(tagged.map((s) => s.id)).toEqual([server!.providerServerId]);
    const firstBoot = h.sandbox.scaleway!.userDataAtFirstBoot(server!.providerServerId!);
    expect(firstBoot).toContain(server!.sshHostPublicKey!.split(' ')[1]);

    const [step] = await h.database.sql`select s.attempt from provisioning_steps s join provisioning_runs r on r.id = s.run_id
      where r.server_id = ${serverId} and s.name = 'create_server'`;
    // The first attempt failed on the user data; the second found the instance.
    expect(step!['attempt']).toBe(2);
  });
});
