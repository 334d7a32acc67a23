/**
 * The provisioning plans as DAGs of named steps. Names match the design's
 * plan table everywhere (database, API, logs, CLI).
 */
export const PROVISION_STEPS = [
  'allocate_ips',
  'check_blacklists',
  'create_server',
  'generate_dkim',
  'publish_dns',
  'activate_zone',
  'set_ptr',
  'wait_ssh',
  'install_mail_stack',
  'harden',
  'check_network',
  'issue_tls',
  'publish_tlsa',
  'verify',
] as const;
export const DEPROVISION_STEPS = ['final_backup', 'delete_dns_records', 'delete_server', 'release_ips'] as const;
/** Rotation of a live server's IP; install_mail_stack and harden are the provisioning steps, re-run with the new address. */
export const ROTATE_IP_STEPS = [
  'reserve_replacement_ip',
  'check_replacement_ip',
  'attach_replacement_ip',
  'repoint_dns',
  'repoint_ptr',
  'release_old_ip',
] as const;

/**
 * Rebuild of a server onto a new instance (lost, broken, or a bigger plan); the provisioning
 * steps create_server … verify are re-used, with the same IPs and the same keys from the vault.
 */
export const REBUILD_STEPS = ['backup_before_rebuild', 'retire_instance', 'repoint_addresses', 'restore_tls', 'restore_mailboxes', 'restore_mail'] as const;

/**

 * DKIM key rotation (provisioning/dkim/): a new generation is made, published, read back through a
 * resolver (what receivers see) and only then signs; the previous key's later transitions (revoked,
 * deleted) are the DKIM sweep's, on dkim_keys.next_transition_at.
 */
export const ROTATE_DKIM_STEPS = ['generate_next_dkim', 'publish_next_dkim', 'confirm_next_dkim', 'sign_with_next_dkim'] as const;

/**
 * A planned change of the TLS key behind the TLSA record (a compromise, an algorithm change): the
 * next key is made on the host, the TLSA records of both keys are published, the key switches once
 * resolvers' caches of the old set have expired, and only then is the old record removed, so a DANE
 * sender never finds the served key missing from the TLSA set it holds (RFC 7671 §8.1, "current + next").
 */
export const ROLL_TLS_KEY_STEPS = ['prepare_next_tls_key', 'publish_next_tlsa', 'switch_tls_key', 'retire_old_tlsa'] as const;

/**
 * Upgrade of a live server to a stack version (a rollout's server, or its rollback): a fresh
 * backup, the idempotent install and harden with that version, then the checks that gate the
 * rollout's next server; install_mail_stack and harden are the provisioning steps.
 */
export const UPGRADE_STEPS = ['backup_before_change', 'check_after_change'] as const;

export type ProvisionStep = (typeof PROVISION_STEPS)[number];
export type DeprovisionStep = (typeof DEPROVISION_STEPS)[number];
export type RotateIpStep = (typeof ROTATE_IP_STEPS)[number];
export type RebuildStep = (typeof REBUILD_STEPS)[number];
export type RotateDkimStep = (typeof ROTATE_DKIM_STEPS)[number];
export type RollTlsKeyStep = (typeof ROLL_TLS_KEY_STEPS)[number];
export type UpgradeStep = (typeof UPGRADE_STEPS)[number];
export type StepName = ProvisionStep | DeprovisionStep | RotateIpStep | RebuildStep | RotateDkimStep | RollTlsKeyStep | UpgradeStep;
export type RunKind = 'provision' | 'deprovision' | 'rotate_ip' | 'rebuild' | 'rotate_dkim' | 'roll_tls_key' | 'upgrade';

/**
 * Runs on a live server that leave its status alone: it keeps serving on what it had. A failed
 * rotation alerts ops; a failed upgrade is put back on its previous version by its rollout.
 */
export const LIVE_SERVER_RUNS: ReadonlySet<RunKind> = new Set(['rotate_ip', 'rotate_dkim', 'roll_tls_key', 'upgrade']);

export const PLANS: Record<RunKind, Record<string, readonly StepName[]>> = {
  provision: {
    allocate_ips: [],
    // An IP is checked while it is only reserved, so a listed address never
    // reaches a server, a DNS record or a PTR.
    check_blacklists: ['allocate_ips'],
    create_server: ['check_blacklists'],
    generate_dkim: [],
    // AAAA and SPF ip6: name the address the host holds, which for a routed IPv6 /64
    // is the SLAAC address Scaleway reports once the IP is attached (create_server).
    publish_dns: ['check_blacklists', 'generate_dkim', 'create_server'],
    // Until the customer's nameservers point at the zone, nothing public sees its records:
    // activate_zone waits (without spending retries) for the steps that need them.
    activate_zone: ['publish_dns'],
    set_ptr: ['activate_zone', 'create_server'],
    wait_ssh: ['create_server'],
    install_mail_stack: ['wait_ssh', 'generate_dkim'],
    harden: ['install_mail_stack'],
    issue_tls: ['activate_zone', 'install_mail_stack'],
    publish_tlsa: ['issue_tls'],
    // The host holds its published addresses and can send mail (waits for the provider's SMTP block to go).
    check_network: ['harden'],
    verify: ['set_ptr', 'check_network', 'publish_tlsa'],
  },
  deprovision: {
    // The last backup is taken while the machine still exists, and kept for the grace period.
    final_backup: [],
    delete_dns_records: [],
    delete_server: ['final_backup'],
    // Flexible IPs outlive their server; released once it is gone.
    release_ips: ['delete_server'],
  },
  // Same order of trust as provisioning: the new IP is checked while only reserved; the
  // server serves it (config re-rendered) before DNS points at it; PTR follows the forward
  // records; the old IP goes last, once nothing refers to it.
  rotate_ip: {
    reserve_replacement_ip: [],
    check_replacement_ip: ['reserve_replacement_ip'],
    attach_replacement_ip: ['check_replacement_ip'],
    install_mail_stack: ['attach_replacement_ip'],
    harden: ['install_mail_stack'],
    repoint_dns: ['install_mail_stack'],
    repoint_ptr: ['repoint_dns'],
    release_old_ip: ['repoint_ptr', 'harden'],
  },
  // The old instance is backed up if it still answers, then deleted, which frees its IPs; the new
  // one gets the same IPs (every record unchanged, the IPv6 too: mailplane fixes it in the routed
  // prefix, host-addresses.ts; repoint_addresses checks it and sets its PTR), the same SSH host key
  // (cloud-init), DKIM key (install) and TLS key (restore_tls, then issue_tls keeps it, so the
  // TLSA record stays valid), then its mailboxes and the chosen snapshot, before verify.
  rebuild: {
    backup_before_rebuild: [],
    retire_instance: ['backup_before_rebuild'],
    create_server: ['retire_instance'],
    repoint_addresses: ['create_server'],
    wait_ssh: ['create_server'],
    install_mail_stack: ['wait_ssh'],
    harden: ['install_mail_stack'],
    restore_tls: ['install_mail_stack'],
    issue_tls: ['restore_tls'],
    // Unchanged when the key came back; follows a new key when the vault had none (an older server).
    publish_tlsa: ['issue_tls'],
    restore_mailboxes: ['install_mail_stack'],
    restore_mail: ['restore_mailboxes'],
    check_network: ['harden'],
    verify: ['publish_tlsa', 'restore_mail', 'check_network', 'repoint_addresses'],
  },
  rotate_dkim: {
    generate_next_dkim: [],
    publish_next_dkim: ['generate_next_dkim'],
    // Read back through a resolver, not Cloudflare's API: a receiver must find the key before any mail carries it.
    confirm_next_dkim: ['publish_next_dkim'],
    sign_with_next_dkim: ['confirm_next_dkim'],
  },
  roll_tls_key: {
    prepare_next_tls_key: [],
    publish_next_tlsa: ['prepare_next_tls_key'],
    switch_tls_key: ['publish_next_tlsa'],
    retire_old_tlsa: ['switch_tls_key'],
  },
  upgrade: {
    backup_before_change: [],
    install_mail_stack: ['backup_before_change'],
    harden: ['install_mail_stack'],
    check_after_change: ['harden'],
  },
};

export function isStepOf(kind: RunKind, name: string): name is StepName {
  return Object.hasOwn(PLANS[kind], name);
}

/** Longest path through the DAG given each step's duration (benchmarks compare against it). */
export function criticalPathMs(kind: RunKind, durations: Record<string, number>): number {
  const plan = PLANS[kind];
  const memo = new Map<string, number>();
  const finish = (step: string): number => {
    const known = memo.get(step);
    if (known !== undefined) return known;
    const start = Math.max(0, ...(plan[step] ?? []).map(finish));
    const end = start + (durations[step] ?? 0);
    memo.set(step, end);
    return end;
  };
  return Math.max(...Object.keys(plan).map(finish));
}
