/**
 * The Scaleway emulator's in-memory records and its error type. Records keep
 * the emulator's own shape; wire.ts turns them into the API's JSON.
 */

export type EmuServerState = 'stopped' | 'starting' | 'running' | 'stopping';
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
  /** The flexible IP this IPAM entry backs. */
  resourceId: string;
  tags: string[];
  reverses: { hostname: string; address: string | null }[];
  createdAt: string;
  updatedAt: string;
}

export interface EmuVolume {
  id: string;
  zone: string;
  name: string;
  size: number;
  volumeType: 'l_ssd';
  project: string;
  serverId: string | null;
  createdAt: string;
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
