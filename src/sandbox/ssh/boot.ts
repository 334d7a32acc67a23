/**
 * What an emulated host takes from the cloud-init user data mailplane wrote:
 * the host key it must present, who may log in with which key, and its name.
 * A host whose user data lacks a host key does not boot (as a real image
 * would come up with a key mailplane never pinned).
 */
// ssh2 is CommonJS and Node's ESM loader sees only some of its exports by name (not utils): go through the default export.
import ssh2, { type ParsedKey } from 'ssh2';
import { parse } from 'yaml';

const { utils } = ssh2;

export interface EmulatedHostSpec {
  id: string;
  /** The server's name at the provider; the fqdn from cloud-init wins when present. */
  hostname: string;
  /** The cloud-init user data ("#cloud-config" YAML) the server booted from. */
  cloudInit: string;
}

export interface BootedHost {
  fqdn: string;
  hostKey: ParsedKey;
  /** Username → keys allowed to log in as that user. */
  authorizedKeys: Map<string, ParsedKey[]>;
  /** Users cloud-init gave a sudo rule. */
  sudoUsers: Set<string>;
}

function parseKeyOrThrow(text: string, what: string): ParsedKey {
  const key = utils.parseKey(text);
  if (key instanceof Error) throw new Error(`${what}: ${key.message}`);
  return key;
}

export function bootFromCloudInit(spec: EmulatedHostSpec): BootedHost {
  const doc: unknown = parse(spec.cloudInit);
  if (!doc || typeof doc !== 'object') throw new Error(`host ${spec.id}: cloud-init user data is not a YAML mapping`);
  const config = doc as {
    fqdn?: unknown;
    ssh_keys?: { ed25519_private?: unknown };
    users?: unknown;
  };
  const privateKey = config.ssh_keys?.ed25519_private;
  if (typeof privateKey !== 'string') throw new Error(`host ${spec.id}: cloud-init has no ssh_keys.ed25519_private`);
  const hostKey = parseKeyOrThrow(privateKey, `host ${spec.id}: host key`);
  const authorizedKeys = new Map<string, ParsedKey[]>();
  const sudoUsers = new Set<string>();
  for (const user of Array.isArray(config.users) ? config.users : []) {
    if (!user || typeof user !== 'object') continue; // "default" and other string entries
    const { name, ssh_authorized_keys: keys, sudo } = user as { name?: unknown; ssh_authorized_keys?: unknown; sudo?: unknown };
    if (typeof name === 'string' && (typeof sudo === 'string' || (Array.isArray(sudo) && sudo.length > 0))) sudoUsers.add(name);
    if (typeof name !== 'string' || !Array.isArray(keys)) continue;
    const parsed = keys.filter((k): k is string => typeof k === 'string').map((k) => parseKeyOrThrow(k, `host ${spec.id}: key of ${name}`));
    authorizedKeys.set(name, [...(authorizedKeys.get(name) ?? []), ...parsed]);
  }
  const fqdn = typeof config.fqdn === 'string' && config.fqdn ? config.fqdn : spec.hostname;
  return { fqdn, hostKey, authorizedKeys, sudoUsers };
}
