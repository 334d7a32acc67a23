/**
 * create_server: the Scaleway instance in the chosen zone with the clean IPs
 * attached and cloud-init carrying the host key mailplane generated, so the
 * key is pinned before first contact. The provider id is saved the moment it
 * exists; a retry after a crash finds the instance by its tag.
 */
import { eq } from 'drizzle-orm';
import { serverIps, servers } from '../../src/db/schema/index.ts';
import { renderCloudInit } from '../../src/mailstack/cloud-init.ts';
import type { Zone } from '../../src/providers/compute/interface.ts';
import type { StepDefinition } from '../context.ts';
import { adoptHostAddresses } from '../host-addresses.ts';
import { bootImageFor } from '../image-choice.ts';
import { currentIps } from '../ips.ts';
import { BOOTSTRAP_USER } from '../remote.ts';
import { ensureServerKeys, readSecret } from '../server-keys.ts';
import { MAILPLANE_TAG, serverTag } from '../tags.ts';

/** SMTP (25, submissions 465, submission 587), IMAPS, HTTP (ACME, MTA-STS) and HTTPS (webmail) and ManageSieve (4190): what nftables opens too. */
export const MAIL_SERVER_PORTS = [25, 80, 443, 465, 587, 993, 4190];
/** SSH: from the control plane's addresses only, here and in nftables. */
export const SSH_PORT = 22;

export const createServer: StepDefinition = {
  name: 'create_server',
  async run(ctx) {
    const { deps, log } = ctx;
    const server = await ensureServerKeys(deps, ctx.server.id);
    const zone = server.zone as Zone;
    let ips = (await currentIps(deps, server.id)).filter((ip) => ip.state === 'clean' || ip.state === 'active');
    if (ips.length < 2) throw new Error('create_server needs a clean IPv4 and IPv6 (check_blacklists)');

    let providerId = server.providerServerId;
    if (providerId && !(await deps.compute.getServer(zone, providerId))) providerId = null;
    if (!providerId) {
      // Its own firewall: only the ports the mail server serves are open inbound, SSH to the control plane only.
      if (deps.settings.controlPlaneAddresses.length === 0)
        throw new Error('no control plane addresses (CONTROL_PLANE_ADDRESSES): SSH would be open to nobody');
      const group = await deps.compute.ensureSecurityGroup(zone, {
        name: `mailplane-${server.hostname}`,
        tags: [MAILPLANE_TAG, serverTag(server.id)],
        inboundTcpPorts: MAIL_SERVER_PORTS,
        restrictedTcpPorts: [{ port: SSH_PORT, sources: deps.settings.controlPlaneAddresses }],
      });
      if (group.smtpBlockedByProvider) log(`security group ${group.id}: the provider still blocks outbound SMTP on this account (check_network waits for it)`);
      const [found] = await deps.compute.findServersByTag(zone, serverTag(server.id));
      const cloudInit = renderCloudInit({
        hostname: server.hostname,
        hostKeys: { ed25519Private: await readSecret(deps.vault, deps, server, 'ssh_host_key'), ed25519Public: server.sshHostPublicKey! },
        deployPublicKey: server.deployPublicKey!,
        // Root only, as on any new instance: the first session moves the server to the deploy user.
        deployUser: BOOTSTRAP_USER,
      });
      // A found instance that never ran may lack its user data (a create that failed half-way
      // and could not be removed): set it again, or it would boot without the pinned host key.
      if (found?.state === 'stopped') await deps.compute.setUserData(zone, found.id, cloudInit);
      // The zone's pre-baked image when it holds the current packages, else the stock image.
      const boot = found ? null : await bootImageFor(deps, zone);
      if (boot) log(`image: ${boot.reason}`);
      const instance =
        found ??
        (await deps.compute.createServer({
          zone,
          name: server.hostname,
          // The type this zone sells for the plan, and a disk sized to what the plan sells.
          commercialType: await deps.settings.instanceTypeFor(server.planId, zone),
          rootVolumeBytes: deps.settings.rootVolumeBytesOf(server.planId),
          image: boot!.image,
          cloudInit,
          tags: [MAILPLANE_TAG, serverTag(server.id)],
          ipIds: ips.map((ip) => ip.providerIpId),
          securityGroupId: group.id,
        }));
      providerId = instance.id;
      // A new instance (a rebuild's too) has only root until its first session moves it.
      await deps.database.db
        .update(servers)
        .set({ providerServerId: providerId, sshUser: BOOTSTRAP_USER, updatedAt: new Date() })
        .where(eq(servers.id, server.id));
      log(`${found ? 'found' : 'created'} instance ${providerId} in ${zone}`);
    }

    let instance = (await deps.compute.getServer(zone, providerId))!;
    for (const ip of ips) {
      if (!instance.ipIds.includes(ip.providerIpId)) {
        await deps.compute.attachIp(zone, ip.providerIpId, providerId);
        log(`attached ${ip.address}`);
      }
    }
    if (instance.state === 'stopped') await deps.compute.powerOn(zone, providerId);
    if (instance.state !== 'running') {
      log('waiting for the instance to run');
      instance = await deps.compute.waitForState(zone, providerId, 'running', {
        timeoutMs: deps.settings.serverBootTimeoutMs,
        intervalMs: deps.settings.pollIntervalMs,
        signal: ctx.signal,
      });
    }
    // The IPv6 is the prefix's ::1, which mailplane fixes and the mail stack configures (host-addresses.ts).
    ips = await adoptHostAddresses(deps, instance, ips, log);
    const v4 = ips.find((ip) => ip.family === 'ipv4')!;
    const v6 = ips.find((ip) => ip.family === 'ipv6')!;
    await deps.database.db.transaction(async (tx) => {
      await tx.update(servers).set({ ipv4: v4.address, ipv6: v6.address, updatedAt: new Date() }).where(eq(servers.id, server.id));
      for (const ip of ips) await tx.update(serverIps).set({ state: 'active' }).where(eq(serverIps.id, ip.id));
    });
    log(`instance ${providerId} running with ${v4.address} and ${v6.address}`);
    return { providerServerId: providerId, ipv4: v4.address, ipv6: v6.address, image: instance.imageId };
  },
};
