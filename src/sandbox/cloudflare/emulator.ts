/**
 * Cloudflare emulator: the zones, DNS records and DNSSEC endpoints of the v4
 * API in the real wire format, so the official SDK runs unchanged against it
 * (give the adapter `apiUrl: emulator.url`; it appends `/client/v4`). State
 * lives in memory; tests and the sandbox inspect it in-process, or through
 * GET /__sandbox/state, and the DNS emulator answers from `answers()`.
 */
import { Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { FaultInjector, type FaultProfile } from '../faults.ts';
import { serveOnLoopbackPreferring, type RunningServer } from '../serve.ts';
import { answers } from './answers.ts';
import { API_PREFIX, registerCloudflareRoutes } from './routes.ts';
import { CloudflareState, type CloudflareSnapshot, type PublicRecord } from './state.ts';
import { CfApiError, errorBody, fail, type CfDnssec, type CfDnssecStatus, type CfRecord, type CfZone } from './wire.ts';

export interface CloudflareEmulatorOptions {
  faults?: FaultProfile;
  /**
   * Whether enabling DNSSEC is active at once, or pending as at Cloudflare until the registrar has the
   * DS (`addDs`) and Cloudflare has seen it there, `dnssecDelayMs` later. Default pending.
   */
  dnssecActivation?: 'immediate' | 'pending';
  dnssecDelayMs?: number;
  /** How many pending zones the account may hold before new zones are refused (Cloudflare: about 50, lower for some accounts). */
  pendingZoneLimit?: number;
  /** When set, only this Bearer token is accepted; otherwise any non-empty token is. */
  apiToken?: string;
  /** `manual`: zones stay pending until activateZone (the customer moved the nameservers). Default immediate. */
  zoneActivation?: 'immediate' | 'manual';
}

export type EmulatedZone = CfZone;
export type EmulatedRecord = CfRecord;
export type EmulatedDnssec = CfDnssec;

export class CloudflareEmulator {
  readonly faults: FaultInjector;
  private readonly state = new CloudflareState();
  private readonly app = new Hono();
  private running: RunningServer | null = null;

  /** Zones, records and DNSSEC as JSON (the sandbox persists them across restarts). */
  snapshot(): CloudflareSnapshot {
    return this.state.snapshot();
  }

  restore(snap: CloudflareSnapshot): void {
    this.state.restore(snap);
  }

  constructor(opts: CloudflareEmulatorOptions = {}) {
    this.faults = new FaultInjector(opts.faults);
    this.state.zoneActivation = opts.zoneActivation ?? 'immediate';
    this.state.dnssecActivation = opts.dnssecActivation === 'immediate' ? 'immediate' : 'registrar';
    this.state.dnssecDelayMs = opts.dnssecDelayMs ?? 0;
    if (opts.pendingZoneLimit !== undefined) this.state.pendingZoneLimit = opts.pendingZoneLimit;
    this.app.post('/__sandbox/zones/:name/activate', (c) => {
      const zone = this.activateZone(c.req.param('name'));
      return zone ? c.json({ zone: zone.name, status: zone.status }) : c.json({ error: `no zone ${c.req.param('name')}` }, 404);
    });
    this.app.post('/__sandbox/zones/:name/ds', (c) => {
      const dnssec = this.addDsAtRegistrar(c.req.param('name'));
      return dnssec ? c.json({ zone: c.req.param('name'), dnssec: dnssec.status }) : c.json({ error: `no zone ${c.req.param('name')}` }, 404);
    });
    this.app.put('/__sandbox/public-dns/:name', async (c) => {
      const body = (await c.req.json()) as { records?: PublicRecord[] };
      this.setPublicDns(c.req.param('name'), body.records ?? []);
      return c.json({ domain: c.req.param('name'), records: body.records?.length ?? 0 });
    });
    this.app.put('/__sandbox/limits', async (c) => {
      const body = (await c.req.json()) as { pendingZones?: number };
      if (typeof body.pendingZones === 'number') this.setPendingZoneLimit(body.pendingZones);
      return c.json({ pendingZones: this.state.pendingZoneLimit });
    });
    this.app.onError((err, c) => {
      if (err instanceof CfApiError) return c.json(errorBody([{ code: err.code, message: err.message }, ...err.more]), err.status as ContentfulStatusCode);
      return fail(c, 500, 10001, 'Internal server error');
    });
    this.app.notFound((c) => fail(c, 404, 7000, 'No route for that URI'));

    this.app.get('/__sandbox/state', (c) =>
      c.json({ zones: this.zones(), records: this.records(), dnssec: Object.fromEntries(this.state.dnssec), faults: this.faults.current }),
    );
    this.app.get('/__sandbox/faults', (c) => c.json(this.faults.current));
    this.app.put('/__sandbox/faults', async (c) => {
      this.faults.set((await c.req.json()) as FaultProfile);
      return c.json(this.faults.current);
    });

    this.app.use(
      '*',
      this.faults.middleware((c, status) =>
        c.json(
          status === 429
            ? errorBody([{ code: 971, message: 'Please wait and consider throttling your request speed' }])
            : errorBody([{ code: 10001, message: 'Internal server error' }]),
          status,
        ),
      ),
    );
    this.app.use(`${API_PREFIX}/*`, async (c, next) => {
      const header = c.req.header('Authorization') ?? '';
      const match = /^Bearer\s+(\S+)$/.exec(header);
      if (!match) return fail(c, 401, 10000, 'Authentication error');
      if (opts.apiToken !== undefined && match[1] !== opts.apiToken) return fail(c, 403, 9109, 'Invalid access token');
      return next();
    });
    registerCloudflareRoutes(this.app, this.state);
  }

  /** `port`: the one it had before a restart, kept when still free. */
  async start(port?: number): Promise<void> {
    if (this.running) return;
    this.running = await serveOnLoopbackPreferring(this.app, port);
  }

  async stop(): Promise<void> {
    await this.running?.close();
    this.running = null;
  }

  /** Origin of the emulator (no path): what the adapter takes as `apiUrl`. */
  get url(): string {
    if (!this.running) throw new Error('Cloudflare emulator not started');
    return this.running.url;
  }

  zones(): EmulatedZone[] {
    return [...this.state.zones.values()].map((z) => structuredClone(z));
  }

  records(zoneId?: string): EmulatedRecord[] {
    const all = zoneId === undefined ? [...this.state.records.values()] : this.state.zoneRecords(zoneId);
    return all.map((r) => structuredClone(r));
  }

  dnssec(zoneId: string): EmulatedDnssec {
    return structuredClone(this.state.getDnssec(zoneId));
  }

  /** The zone authoritative for `name` (longest suffix), or null. */
  findZoneFor(name: string): EmulatedZone | null {
    const zone = this.state.findZoneFor(name);
    return zone ? structuredClone(zone) : null;
  }

  /** Presentation-format answers for the DNS emulator; null when no zone covers the name. */
  answers(name: string, type: string): string[] | null {
    return answers(this.state, name, type);
  }

  /** Moves a zone's DNSSEC along (e.g. pending → active once "the registrar" has the DS). */
  setDnssec(zoneId: string, state: CfDnssecStatus): EmulatedDnssec {
    return structuredClone(this.state.setDnssec(zoneId, state));
  }

  /** The customer added the DS at their registrar: DNSSEC turns active once Cloudflare sees it (after the configured delay). */
  addDsAtRegistrar(name: string): EmulatedDnssec | null {
    const zone = [...this.state.zones.values()].find((z) => z.name === name.toLowerCase().replace(/\.$/, ''));
    return zone ? structuredClone(this.state.addDs(zone.id)) : null;
  }

  setDnssecActivation(mode: 'immediate' | 'pending', delayMs = 0): void {
    this.state.dnssecActivation = mode === 'immediate' ? 'immediate' : 'registrar';
    this.state.dnssecDelayMs = delayMs;
  }

  /** What the domain's DNS host served before the move (answered publicly until the zone is active; what the scan finds). */
  setPublicDns(domain: string, records: PublicRecord[]): void {
    const d = domain.toLowerCase().replace(/\.$/, '');
    this.state.publicDns.set(
      d,
      records.map((r) => ({ ...r, type: r.type.toUpperCase(), name: r.name.toLowerCase().replace(/\.$/, '') })),
    );
  }

  setPendingZoneLimit(limit: number): void {
    this.state.pendingZoneLimit = limit;
  }

  setZoneActivation(mode: 'immediate' | 'manual'): void {
    this.state.zoneActivation = mode;
  }

  get zoneActivation(): 'immediate' | 'manual' {
    return this.state.zoneActivation;
  }

  /** The customer moved the nameservers at their registrar: the zone (by name) becomes active. */
  activateZone(name: string): EmulatedZone | null {
    const zone = [...this.state.zones.values()].find((z) => z.name === name.toLowerCase().replace(/\.$/, ''));
    if (!zone) return null;
    this.setZoneStatus(zone.id, 'active');
    return structuredClone(zone);
  }

  /** What Cloudflare does to a Free-plan zone still pending 28 days after creation: it deletes it. */
  expirePendingZone(name: string): boolean {
    const zone = [...this.state.zones.values()].find((z) => z.name === name && z.status === 'pending');
    if (!zone) return false;
    this.state.deleteZone(zone.id);
    return true;
  }

  /** E.g. pending → active once "the registrar" points at our nameservers. */
  setZoneStatus(zoneId: string, status: EmulatedZone['status']): void {
    const zone = this.state.zone(zoneId);
    zone.status = status;
    zone.activated_on = status === 'active' ? new Date().toISOString() : zone.activated_on;
  }
}
