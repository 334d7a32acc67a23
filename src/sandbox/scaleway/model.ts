/**
 * The Scaleway emulator's in-memory records and its error type. Records keep
 * the emulator's own shape; wire.ts turns them into the API's JSON.
 */

/** `stopped in place`: powered off but still allocated on its hypervisor (the `stop_in_place` action). */
export type EmuServerState = 'stopped' | 'stopped in place' | 'starting' | 'running' | 'stopping';
export type EmuIpType = 'routed_ipv4' | 'routed_ipv6';

export interface EmuServer {
  id: string;
  zone: string;
  name: string;
  project: string;
  commercialType: string;
  image: string;
  tags: string[];
  state: EmuServerState;
  stateDetail: string;
  createdAt: string;
  modifiedAt: string;
  userData: Map<string, string>;
  /** User data as it was when the server was first powered on (null: never booted). */
  userDataAtFirstBoot: Map<string, string> | null;
  volumeIds: string[];
  /** Per server, like Scaleway's `de:00:…`: the host's SLAAC IPv6 address is derived from it. */
  macAddress: string;
  /** Its security group (null: the project's default group). */
  securityGroupId: string | null;
  /** Created outside mailplane (reconciliation tests). */
  orphan: boolean;
}

export interface EmuIp {
  id: string;
  zone: string;
  type: EmuIpType;
  /** IPv4 address, or the routed IPv6 prefix in CIDR form. */
  address: string;
  project: string;
  tags: string[];
  reverse: string | null;
  serverId: string | null;
  ipamId: string;
}

export interface EmuIpamIp {
  id: string;
  region: string;
  zone: string;
  /** CIDR: a.b.c.d/32 or the /64. */
  address: string;
  isIpv6: boolean;
  projectId: string;
  tags: string[];
  reverses: { hostname: string; address: string | null }[];
  createdAt: string;
  updatedAt: string;
}

/**
 * A volume. Current images boot from Block Storage (`sbs_volume`): the Instance
 * API only shows it inside its server; the volume itself lives in the Block API,
 * which is the only way to tag, list or delete it, and it outlives its server
 * (neither `terminate` nor `DELETE /servers` removes it). `l_ssd` is the older
 * local volume, deleted by `terminate` and through the Instance API.
 */
export interface EmuVolume {
  id: string;
  zone: string;
  name: string;
  size: number;
  volumeType: 'l_ssd' | 'sbs_volume';
  project: string;
  serverId: string | null;
  tags: string[];
  createdAt: string;
  updatedAt: string;
  /** The snapshot it was made from (a custom image's), null for a stock image's volume. */
  parentSnapshotId?: string | null;
}

/** A Block Storage snapshot of a volume (`creating` until the copy is done; `in_use` while an image uses it). */
export interface EmuSnapshot {
  id: string;
  zone: string;
  name: string;
  project: string;
  tags: string[];
  size: number;
  parentVolume: { id: string; name: string };
  status: 'creating' | 'available' | 'in_use' | 'error';
  createdAt: string;
  updatedAt: string;
}

/** A custom Instance image: a name and tags over one Block Storage snapshot (its root volume). */
export interface EmuImage {
  id: string;
  zone: string;
  name: string;
  project: string;
  tags: string[];
  arch: string;
  rootSnapshotId: string;
  state: 'available' | 'creating' | 'error';
  createdAt: string;
  modifiedAt: string;
}

/**
 * An API error in Scaleway's shape: `{ message, type, resource?, resource_id? }`.
 * The SDK picks its error class from `type`.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly type: string;
  readonly extra: Record<string, unknown>;

  constructor(status: number, type: string, message: string, extra: Record<string, unknown> = {}) {
    super(message);
    this.status = status;
    this.type = type;
    this.extra = extra;
  }

  static notFound(resource: string, id: string): ApiError {
    return new ApiError(404, 'not_found', `resource is not found`, { resource, resource_id: id });
  }

  static invalid(message: string): ApiError {
    return new ApiError(400, 'invalid_request_error', message);
  }

  /** The real answer while Scaleway's resolver cannot see the forward record yet (recorded by terraform-provider-scaleway). */
  static reverseMustResolve(hostname: string, address: string): ApiError {
    return new ApiError(400, 'invalid_arguments', 'invalid argument(s)', {
      details: [
        {
          argument_name: 'reverse',
          reason: 'constraint',
          help_message: `Your reverse must resolve. Ensure the command 'dig +short ${hostname}' matches your IP address '${address}'. If it does, please contact our support.`,
        },
      ],
    });
  }

  static preconditionFailed(precondition: string, message: string): ApiError {
    return new ApiError(412, 'precondition_failed', message, { precondition });
  }

  static invalidArgument(field: string, reason: string): ApiError {
    return new ApiError(400, 'invalid_arguments', 'invalid argument(s)', {
      details: [{ argument_name: field, reason: 'constraint', help_message: reason }],
    });
  }

  body(): Record<string, unknown> {
    return { message: this.message, type: this.type, ...this.extra };
  }
}

export function regionOfZone(zone: string): string {
  return zone.replace(/-\d+$/, '');
}
