/**
 * cloud-init user data for a new server: the SSH host key mailplane generated
 * (so the fingerprint is pinned before first contact: no trust-on-first-use),
 * the per-server deploy key, the hostname, and no password login anywhere.
 * Rendered with a YAML serialiser so no value can break out of its field.
 */
import { stringify } from 'yaml';

export interface CloudInitInput {
  hostname: string;
  hostKeys: { ed25519Private: string; ed25519Public: string };
  deployPublicKey: string;
  deployUser: string;
}

const HOSTNAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;

export function renderCloudInit(input: CloudInitInput): string {
  if (!HOSTNAME.test(input.hostname)) throw new Error(`invalid hostname for cloud-init: ${JSON.stringify(input.hostname)}`);
  if (!/^ssh-ed25519 [A-Za-z0-9+/=]+( [^\n]*)?$/.test(input.deployPublicKey)) throw new Error('deploy key must be one ssh-ed25519 public key line');
  if (!/^[a-z_][a-z0-9_-]*$/.test(input.deployUser)) throw new Error('invalid deploy user');
  const shortName = input.hostname.split('.')[0]!;
  const user =
    input.deployUser === 'root'
      ? { name: 'root', lock_passwd: true, ssh_authorized_keys: [input.deployPublicKey] }
      : { name: input.deployUser, lock_passwd: true, shell: '/bin/bash', sudo: 'ALL=(ALL) NOPASSWD:ALL', ssh_authorized_keys: [input.deployPublicKey] };
  const doc = {
    hostname: shortName,
    fqdn: input.hostname,
    prefer_fqdn_over_hostname: true,
    manage_etc_hosts: true,
    // Only the host key mailplane pinned: no other key types are generated.
    ssh_deletekeys: true,
    ssh_genkeytypes: [],
    ssh_keys: {
      ed25519_private: input.hostKeys.ed25519Private.endsWith('\n') ? input.hostKeys.ed25519Private : `${input.hostKeys.ed25519Private}\n`,
      ed25519_public: input.hostKeys.ed25519Public,
    },
    ssh_pwauth: false,
    disable_root: input.deployUser !== 'root',
    users: [user],
    chpasswd: { expire: false },
    package_update: false,
  };
  return `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
}
