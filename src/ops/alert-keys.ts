/** Alert kinds raised by ops code and their dedupe keys (one open alert per key). */
export const ALERT_KINDS = [
  'ip_listed',
  'dnsbl_zone_failing',
  'ip_rotation_exhausted',
  'orphan_resource',
  'ghost_resource',
  'backup_failed',
  'backup_check_failed',
  'backup_drill_failed',
] as const;

/** One open alert per listed IP of a server, naming its zones (src/ops/listing-alerts.ts). */
export const ipListedKey = (serverId: string, address: string) => `ip_listed:${serverId}:${address}`;
export const zoneFailingKey = (zone: string) => `dnsbl_zone_failing:${zone}`;
export const orphanKey = (resource: 'server' | 'ip' | 'volume' | 'security_group', providerId: string) => `orphan_resource:${resource}:${providerId}`;
export const ghostKey = (resource: 'server' | 'ip', rowId: string) => `ghost_resource:${resource}:${rowId}`;
/** Backups (src/backups): one open alert per server and kind; the next success resolves it. */
export const backupAlertKey = (kind: 'backup_failed' | 'backup_check_failed' | 'backup_drill_failed', serverId: string) => `${kind}:${serverId}`;
