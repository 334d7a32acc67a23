/**
 * ComputeProvider on the official Scaleway SDK (Instance v1 + IPAM v1).
 *
 * Errors: every failure leaves as a ProviderError (see scaleway-errors.ts).
 * Idempotence: reads answer null for 404, deletes treat 404 as done, so a
 * provisioning step that crashed half-way can simply run again.
 */
import { createAdvancedClient, withDefaultPageSize, withHTTPClient, withProfile, withUserAgentSuffix, type ClientConfig } from '@scaleway/sdk-client';
import { Blockv1 } from '@scaleway/sdk-block';
import { Instancev1 } from '@scaleway/sdk-instance';
import { Ipamv1 } from '@scaleway/sdk-ipam';
import type { Clock } from '../../clock.ts';
import { ProviderError } from '../../errors.ts';
import {
  ZONES,
  type ComputeProvider,
  type ComputeSecurityGroup,
  type ComputeServer,
  type ComputeVolume,
  type CreateServerInput,
  type FlexibleIp,
  type IpFamily,
  type SecurityGroupInput,
  type ServerState,
  type WaitOptions,
  type Zone,
} from './interface.ts';
import { PROVIDER, isNotFound, scalewayHttpClient, toProviderError } from './scaleway-errors.ts';
import { prefixContains } from './scaleway-ipv6.ts';
import { createCatalogueCache } from './scaleway-catalogue.ts';
import { createImageOps } from './scaleway-images.ts';
import { regionOf, toComputeServer, toComputeVolume, toFlexibleIp } from './scaleway-mapping.ts';

/** Scaleway's ip_range is a CIDR: a bare address is the one host (/32, /128). */
const asCidr = (source: string) => (source.includes('/') ? source : `${source}/${source.includes(':') ? 128 : 32}`);
export interface ScalewayComputeOptions {
  accessKey: string;
  secretKey: string;
  projectId: string;
  /** Without trailing slash; defaults to https://api.scaleway.com. The sandbox points it at its emulator. */
  apiUrl?: string;
  clock: Clock;
  fetch?: typeof fetch;
  /** Page size for list calls (the API's default is 50, its maximum 100). */
  pageSize?: number;
  /** Per-request timeout; a timeout is a retryable ProviderError. */
  requestTimeoutMs?: number;
  /** How long a zone's catalogue (types sold and their stock) is trusted. Default 10 minutes. */
  catalogueTtlMs?: number;
}

const USER_DATA_KEY = 'cloud-init';
/** Put on an instance's Block Storage volumes so they can be found once the instance is gone. */
const instanceTag = (serverId: string) => `scw-instance=${serverId}`;

/** Runs an SDK call and maps whatever it throws. */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw toProviderError(err);
  }
}

/** Like `call`, but a 404 answers null. */
async function orNull<T>(fn: () => Promise<T>): Promise<T | null> {
  try {
    return await call(fn);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
}

/** Like `call`, but a 404 means "already gone", which is what we wanted. */
async function ignoreNotFound(fn: () => Promise<unknown>): Promise<void> {
  await orNull(fn);
}

function fail(detail: string, retryable = false, code?: string): ProviderError {
  return new ProviderError({ provider: PROVIDER, detail, retryable, ...(code ? { code } : {}) });
}

export function createScalewayCompute(opts: ScalewayComputeOptions): ComputeProvider {
  const configs: ClientConfig[] = [
    withProfile({
      accessKey: opts.accessKey,
      secretKey: opts.secretKey,
      defaultProjectId: opts.projectId,
      ...(opts.apiUrl ? { apiURL: opts.apiUrl.replace(/\/+$/, '') } : {}),
    }),
    withHTTPClient(scalewayHttpClient(opts.fetch, opts.requestTimeoutMs ?? 30_000)),
    withUserAgentSuffix('mailplane'),
  ];
  if (opts.pageSize) configs.push(withDefaultPageSize(opts.pageSize));
  const client = createAdvancedClient(...configs);
  const instance = new Instancev1.API(client);
  const ipam = new Ipamv1.API(client);
  const block = new Blockv1.API(client);
  const { clock } = opts;
  const catalogue = createCatalogueCache({ instance, call, clock, ttlMs: opts.catalogueTtlMs ?? 10 * 60_000 });

  async function getServer(zone: Zone, serverId: string): Promise<ComputeServer | null> {
    const res = await orNull(() => instance.getServer({ zone, serverId }));
    return res?.server ? toComputeServer(res.server, zone) : null;
  }

  async function getIp(zone: Zone, ipId: string): Promise<FlexibleIp | null> {
    const res = await orNull(() => instance.getIp({ zone, ip: ipId }));
    return res?.ip ? toFlexibleIp(res.ip, zone) : null;
  }

  async function serversTagged(zone: Zone, tag: string): Promise<ComputeServer[]> {
    // `.all()` walks every page using the total count the API reports.
    const servers = await call(() => instance.listServers({ zone, tags: [tag], project: opts.projectId }).all());
    return servers.map((s) => toComputeServer(s, zone));
  }

  async function ipsTagged(zone: Zone, tag: string): Promise<FlexibleIp[]> {
    const ips = await call(() => instance.listIps({ zone, tags: [tag], project: opts.projectId }).all());
    return ips.map((ip) => toFlexibleIp(ip, zone));
  }

  async function setUserData(zone: Zone, serverId: string, cloudInit: string): Promise<void> {
    await call(() => instance.setServerUserData({ zone, serverId, key: USER_DATA_KEY, content: cloudInit }));
  }

  async function waitForState(zone: Zone, serverId: string, state: ServerState, wait: WaitOptions): Promise<ComputeServer> {
    const deadline = clock.now() + wait.timeoutMs;
    let last: ServerState | 'error' = 'unknown';
    for (;;) {
      wait.signal?.throwIfAborted();
      try {
        const server = await getServer(zone, serverId);
        if (!server) throw fail(`server ${serverId} disappeared while waiting for ${state}`);
        if (server.state === state) return server;
        last = server.state;
      } catch (err) {
        // A transient API error while polling is not a verdict on the server.
        if (!(err instanceof ProviderError) || !err.retryable) throw err;
        last = 'error';
      }
      if (clock.now() >= deadline) {
        throw fail(`server ${serverId} not ${state} after ${wait.timeoutMs} ms (last seen: ${last})`, true, 'provider_timeout');
      }
      await clock.sleep(wait.intervalMs, wait.signal);
    }
  }

  function toGroup(g: Instancev1.SecurityGroup, zone: Zone): ComputeSecurityGroup {
    return { id: g.id, zone, tags: g.tags ?? [], smtpBlockedByProvider: g.enableDefaultSecurity, serverIds: (g.servers ?? []).map((s) => s.id) };
  }

  async function groupsTagged(zone: Zone, tag: string): Promise<ComputeSecurityGroup[]> {
    const groups = await call(() => instance.listSecurityGroups({ zone, tags: [tag], project: opts.projectId }).all());
    return groups.map((g) => toGroup(g, zone));
  }

  async function ensureSecurityGroup(zone: Zone, input: SecurityGroupInput): Promise<ComputeSecurityGroup> {
    // Found again by all its tags (the Instance API's tag filter requires every tag), so a retry adopts it.
    const listed = await call(() => instance.listSecurityGroups({ zone, tags: input.tags, project: opts.projectId }).all());
    let group = listed.map((g) => toGroup(g, zone)).find((g) => input.tags.every((t) => g.tags.includes(t)));
    if (!group) {
      const res = await call(() =>
        instance.createSecurityGroup({
          zone,
          name: input.name,
          description: 'mailplane: the ports this mail server serves',
          project: opts.projectId,
          tags: input.tags,
          // Stateful: replies to outbound traffic come back; inbound only what is listed.
          stateful: true,
          inboundDefaultPolicy: 'drop',
          outboundDefaultPolicy: 'accept',
          // Asking is all we can do: Scaleway keeps SMTP blocked (true) until the account may send mail.
          enableDefaultSecurity: false,
        }),
      );
      if (!res.securityGroup) throw fail('createSecurityGroup answered without a group', true);
      group = toGroup(res.securityGroup, zone);
    } else if (group.smtpBlockedByProvider) {
      // Created before the account could send: the block stays on the group until it is asked again.
      group = await requestOutboundSmtp(zone, group.id);
    }
    const rules: Instancev1.SetSecurityGroupRulesRequestRule[] = [];
    for (const range of ['0.0.0.0/0', '::/0']) {
      rules.push({ action: 'accept', protocol: 'ICMP', direction: 'inbound', ipRange: range, position: rules.length + 1 });
      for (const port of input.inboundTcpPorts) {
        rules.push({ action: 'accept', protocol: 'TCP', direction: 'inbound', ipRange: range, destPortFrom: port, position: rules.length + 1 });
      }
    }
    for (const { port, sources } of input.restrictedTcpPorts ?? []) {
      for (const source of sources) {
        rules.push({ action: 'accept', protocol: 'TCP', direction: 'inbound', ipRange: asCidr(source), destPortFrom: port, position: rules.length + 1 });
      }
    }
    const id = group.id;
    await call(() => instance.setSecurityGroupRules({ zone, securityGroupId: id, rules }));
    return group;
  }

  async function requestOutboundSmtp(zone: Zone, groupId: string): Promise<ComputeSecurityGroup> {
    const res = await call(() => instance.updateSecurityGroup({ zone, securityGroupId: groupId, enableDefaultSecurity: false }));
    if (!res.securityGroup) throw fail('updateSecurityGroup answered without a group', true);
    return toGroup(res.securityGroup, zone);
  }

  async function volumesTagged(zone: Zone, tag: string): Promise<ComputeVolume[]> {
    const volumes = await call(() => block.listVolumes({ zone, tags: [tag], projectId: opts.projectId, includeDeleted: false }).all());
    // Block's tag filter matches any tag given; one tag here, but keep the contract exact.
    return volumes.filter((v) => (v.tags ?? []).includes(tag)).map((v) => toComputeVolume(v, zone));
  }

  /** A volume of either kind: Block Storage through the Block API, a local one through the Instance API. */
  async function deleteAnyVolume(zone: Zone, volumeId: string, type: string): Promise<void> {
    if (type === 'sbs_volume') await ignoreNotFound(() => block.deleteVolume({ zone, volumeId }));
    else if (type === 'l_ssd' || type === 'scratch') await ignoreNotFound(() => instance.deleteVolume({ zone, volumeId }));
  }

  /** DELETE /servers keeps every volume: remove them too. */
  async function removeStoppedServer(zone: Zone, server: Instancev1.Server): Promise<void> {
    await ignoreNotFound(() => instance.deleteServer({ zone, serverId: server.id }));
    for (const volume of Object.values(server.volumes ?? {})) await deleteAnyVolume(zone, volume.id, volume.volumeType);
  }

  /** Polls until the instance is gone (terminate is asynchronous; its volumes are detached only then). */
  async function waitUntilGone(zone: Zone, serverId: string): Promise<void> {
    const deadline = clock.now() + 10 * 60_000;
    for (;;) {
      if (!(await orNull(() => instance.getServer({ zone, serverId })))) return;
      if (clock.now() >= deadline) throw fail(`server ${serverId} still exists 10 minutes after terminate`, true, 'provider_timeout');
      await clock.sleep(2_000);
    }
  }

  /**
   * The IPAM object behind a routed flexible IP (IPv6 reverses live there).
   * Its id is the flexible IP's `ipam_id` (the same id today); failing that,
   * an attached IP's IPAM resource is its server, not the flexible IP.
   */
  async function ipamIpFor(zone: Zone, ip: Instancev1.Ip, prefix: string): Promise<Ipamv1.IP> {
    const region = regionOf(zone);
    if (ip.ipamId) {
      const found = await orNull(() => ipam.getIP({ region, ipId: ip.ipamId }));
      if (found) return found;
    }
    const serverId = ip.server?.id;
    if (!serverId) throw fail(`flexible IP ${ip.id} has no IPAM entry and no server`, true);
    const listed = await call(() =>
      ipam
        .listIPs({
          region,
          resourceId: serverId,
          resourceType: 'instance_server',
          isIpv6: true,
          projectId: opts.projectId,
        })
        .all(),
    );
    const match = listed.find((entry) => entry.address === prefix || entry.address.split('/')[0] === prefix.split('/')[0]);
    if (!match) throw fail(`no IPAM entry found for flexible IP ${ip.id} (${prefix})`, true);
    return match;
  }

  return {
    async createIp(zone: Zone, family: IpFamily, tags: string[]): Promise<FlexibleIp> {
      const type = family === 'ipv6' ? 'routed_ipv6' : 'routed_ipv4';
      const res = await call(() => instance.createIp({ zone, type, tags, project: opts.projectId }));
      if (!res.ip) throw fail('createIp answered without an ip', true);
      return toFlexibleIp(res.ip, zone);
    },

    getIp,

    findIpsByTag: ipsTagged,

    async deleteIp(zone: Zone, ipId: string): Promise<void> {
      await ignoreNotFound(() => instance.deleteIp({ zone, ip: ipId }));
    },

    async attachIp(zone: Zone, ipId: string, serverId: string): Promise<void> {
      await call(() => instance.updateIp({ zone, ip: ipId, server: serverId }));
    },

    async detachIp(zone: Zone, ipId: string): Promise<void> {
      // `server: null` is the API's way to detach; an IP already gone is detached enough.
      await ignoreNotFound(() => instance.updateIp({ zone, ip: ipId, server: null }));
    },

    serverTypes: (zone) => catalogue.serverTypes(zone),

    async createServer(input: CreateServerInput): Promise<ComputeServer> {
      const { zone } = input;
      const res = await call(() =>
        instance.createServer({
          zone,
          name: input.name,
          commercialType: input.commercialType,
          image: input.image,
          tags: input.tags,
          // Only our routed flexible IPs: no dynamic IP we would not track.
          dynamicIpRequired: false,
          routedIpEnabled: true,
          publicIps: input.ipIds,
          project: opts.projectId,
          protected: false,
          ...(input.securityGroupId ? { securityGroup: input.securityGroupId } : {}),
          // The boot disk sized as asked (recorded request shape: volumes {"0": {boot, size, volume_type}}).
          ...(input.rootVolumeBytes ? { volumes: { 0: { boot: false, size: input.rootVolumeBytes, volumeType: 'sbs_volume' as const } } } : {}),
        }),
      );
      const server = res.server;
      if (!server) throw fail('createServer answered without a server', true);
      // Creation leaves the server stopped, so the user data (which pins the SSH
      // host key) is in place before anything can power it on.
      try {
        await setUserData(zone, server.id, input.cloudInit);
        // The boot disk is a Block Storage volume that outlives the instance: give it the server's
        // tags so a teardown that lost the instance id (or crashed half-way) still finds it.
        for (const volume of Object.values(server.volumes ?? {})) {
          if (volume.volumeType === 'sbs_volume') {
            await call(() => block.updateVolume({ zone, volumeId: volume.id, tags: [...input.tags, instanceTag(server.id)] }));
          }
        }
      } catch (err) {
        // A server without its cloud-init must never boot: remove it so the
        // retried step (which finds servers by tag) cannot pick it up.
        await removeStoppedServer(zone, server).catch(() => undefined);
        throw err;
      }
      return toComputeServer(server, zone);
    },

    getServer,

    findServersByTag: serversTagged,

    async powerOn(zone: Zone, serverId: string): Promise<void> {
      const current = await getServer(zone, serverId);
      if (!current) throw fail(`server ${serverId} not found in ${zone}`);
      // Repeating a power-on is fine: the API would reject a second one.
      if (current.state === 'running' || current.state === 'starting') return;
      await call(() => instance.serverAction({ zone, serverId, action: 'poweron' }));
    },

    setUserData,

    async clearUserData(zone: Zone, serverId: string): Promise<void> {
      await ignoreNotFound(() => instance.deleteServerUserData({ zone, serverId, key: USER_DATA_KEY }));
    },

    waitForState,

    /**
     * Scaleway has two ways to remove an Instance. `terminate` (allowed on a
     * running server and on one `stopped in place`, as the recorded
     * `allowed_actions` show) stops and deletes it with its local volumes;
     * `DELETE /servers/{id}` is only allowed on a `stopped` server and keeps
     * every volume. Neither removes a Block Storage (sbs) volume, which current
     * images boot from: those are deleted through the Block API once detached,
     * as Scaleway's terraform provider does. A server stopped in place is
     * terminated as it is: powering it on first would briefly run a mail
     * server that is being deleted. Attached flexible IPs are detached, never released.
     */
    async deleteServer(zone: Zone, serverId: string): Promise<void> {
      const res = await orNull(() => instance.getServer({ zone, serverId }));
      const server = res?.server;
      if (server) {
        const state = toComputeServer(server, zone).state;
        if (state === 'stopped') {
          await removeStoppedServer(zone, server);
        } else if (state === 'running' || state === 'stopped_in_place') {
          await ignoreNotFound(() => instance.serverAction({ zone, serverId, action: 'terminate' }));
          await waitUntilGone(zone, serverId);
          for (const volume of Object.values(server.volumes ?? {})) await deleteAnyVolume(zone, volume.id, volume.volumeType);
        } else {
          throw fail(`server ${serverId} is ${server.state}; it can be deleted once running or stopped`, true, 'provider_transient_state');
        }
      }
      // A retry after a failed volume delete finds the server gone: the boot volume is tagged with its id.
      for (const volume of await volumesTagged(zone, instanceTag(serverId))) {
        if (!volume.serverId) await ignoreNotFound(() => block.deleteVolume({ zone, volumeId: volume.id }));
      }
    },

    ensureSecurityGroup,

    findSecurityGroupsByTag: groupsTagged,

    requestOutboundSmtp,

    async deleteSecurityGroup(zone: Zone, groupId: string): Promise<void> {
      try {
        await ignoreNotFound(() => instance.deleteSecurityGroup({ zone, securityGroupId: groupId }));
      } catch (err) {
        // Still in use by a server that is being removed: asking again later succeeds.
        if (err instanceof ProviderError && err.providerStatus === 400)
          throw fail(`security group ${groupId} is still in use: ${err.detail}`, true, 'provider_in_use');
        throw err;
      }
    },

    findVolumesByTag: volumesTagged,

    async deleteVolume(zone: Zone, volumeId: string): Promise<void> {
      await ignoreNotFound(() => block.deleteVolume({ zone, volumeId }));
    },

    async powerOff(zone: Zone, serverId: string): Promise<void> {
      const current = await getServer(zone, serverId);
      if (!current) throw fail(`server ${serverId} not found in ${zone}`);
      if (current.state === 'stopped' || current.state === 'stopping') return;
      await call(() => instance.serverAction({ zone, serverId, action: 'poweroff' }));
    },

    ...createImageOps({ instance, block, projectId: opts.projectId, call, orNull }),

    async setIpv4Reverse(zone: Zone, ipId: string, hostname: string): Promise<void> {
      await call(() => instance.updateIp({ zone, ip: ipId, reverse: hostname }));
    },

    async setIpv6Reverse(zone: Zone, ipId: string, address: string, hostname: string): Promise<void> {
      const res = await call(() => instance.getIp({ zone, ip: ipId }));
      if (!res.ip) throw fail(`flexible IP ${ipId} not found`);
      const flexible = toFlexibleIp(res.ip, zone);
      if (flexible.family !== 'ipv6' || !flexible.prefix) throw fail(`flexible IP ${ipId} is not a routed IPv6 prefix`);
      if (!prefixContains(flexible.prefix, address)) throw fail(`${address} is outside ${flexible.prefix}`);
      const entry = await ipamIpFor(zone, res.ip, flexible.prefix);
      // IPAM replaces the whole list, which starts with Scaleway's own defaults (*.rev.scw.cloud,
      // *.instances.scw.cloud): send only ours, so no other name claims the server's address.
      await call(() => ipam.updateIP({ region: regionOf(zone), ipId: entry.id, reverses: [{ hostname, address }] }));
    },

    async listTagged(tag: string) {
      const perZone = await Promise.all(
        ZONES.map(async (zone) => {
          const [servers, ips, volumes, securityGroups] = await Promise.all([
            serversTagged(zone, tag),
            ipsTagged(zone, tag),
            volumesTagged(zone, tag),
            groupsTagged(zone, tag),
          ]);
          return { servers, ips, volumes, securityGroups };
        }),
      );
      return {
        servers: perZone.flatMap((z) => z.servers),
        ips: perZone.flatMap((z) => z.ips),
        volumes: perZone.flatMap((z) => z.volumes),
        securityGroups: perZone.flatMap((z) => z.securityGroups),
      };
    },
  };
}
