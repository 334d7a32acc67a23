/**
 * The sandbox DNS server: UDP and TCP on the same 127.0.0.1 port, so
 * node:dns's Resolver (c-ares) can be pointed at it like at any recursive
 * resolver. Answers come from `respond()`; this file is the transport and the
 * fault hooks (latency, SERVFAIL/REFUSED/no answer/query-error per zone, a
 * hold that parks every answer) that reliability tests and benchmarks use.
 */
import { createSocket, type Socket } from 'node:dgram';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet } from 'dns-packet';
import { respond, type DnsAnswerSource, type Reply } from './responder.ts';
import { encodeReply, zoneMatches } from './wire.ts';

export type DnsFailureMode = 'servfail' | 'refused' | 'timeout' | 'query-error';

export interface DnsQueryRecord {
  name: string;
  type: string;
  transport: 'udp' | 'tcp';
  /** Set once the emulator has answered (an rcode) or decided not to ('dropped'). */
  outcome: string | null;
}

type Send = (response: Buffer) => void;

export class DnsEmulator {
  /** Every question received, in arrival order. */
  readonly queries: DnsQueryRecord[] = [];
  private readonly source: DnsAnswerSource;
  private udp: Socket | null = null;
  private tcp: Server | null = null;
  /** Extra UDP+TCP listeners (real-host mode: the hosts' resolver address in the sandbox internet). */
  private readonly extra: { udp: Socket; tcp: Server }[] = [];
  private readonly connections = new Set<TcpSocket>();
  private port = 0;
  private globalLatencyMs = 0;
  private readonly zoneLatencyMs = new Map<string, number>();
  private readonly failures = new Map<string, DnsFailureMode>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private holds = 0;
  private parked: (() => void)[] = [];
  private readonly listeners = new Set<() => void>();

  constructor(source: DnsAnswerSource) {
    this.source = source;
  }

  get address(): string {
    if (!this.udp) throw new Error('DNS emulator not started');
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    // UDP first on an ephemeral port, then TCP on the same number; another
    // process may hold that TCP port, so try a few times.
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket('udp4');
      await new Promise<void>((resolve, reject) => {
        udp.once('error', reject);
        udp.bind(0, '127.0.0.1', resolve);
      });
      const port = udp.address().port;
      const tcp = createServer((socket) => this.acceptTcp(socket));
      try {
        await new Promise<void>((resolve, reject) => {
          tcp.once('error', reject);
          tcp.listen(port, '127.0.0.1', resolve);
        });
      } catch (err) {
        udp.close();
        if (attempt >= 5) throw err;
        continue;
      }
      // A send to a client that went away must not take the sandbox down with it.
      udp.on('error', () => {});
      tcp.on('error', () => {});
      udp.on('message', (msg, rinfo) => this.handle(msg, 'udp', (res) => this.udp?.send(res, rinfo.port, rinfo.address)));
      this.udp = udp;
      this.tcp = tcp;
      this.port = port;
      return;
    }
  }

  /** Also answers on host:port (UDP and TCP), e.g. where real-host containers send their questions. */
  async listenAlso(host: string, port: number): Promise<void> {
    const udp = createSocket(host.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(port, host, resolve);
    });
    const tcp = createServer((socket) => this.acceptTcp(socket));
    await new Promise<void>((resolve, reject) => {
      tcp.once('error', reject);
      tcp.listen(port, host, resolve);
    });
    udp.on('error', () => {});
    tcp.on('error', () => {});
    udp.on('message', (msg, rinfo) => this.handle(msg, 'udp', (res) => udp.send(res, rinfo.port, rinfo.address)));
    this.extra.push({ udp, tcp });
  }

  async stop(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    this.parked = [];
    for (const socket of this.connections) socket.destroy();
    for (const extra of this.extra.splice(0)) {
      await new Promise<void>((resolve) => extra.udp.close(() => resolve()));
      await new Promise<void>((resolve) => extra.tcp.close(() => resolve()));
    }
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = null;
    this.tcp = null;
    if (udp) await new Promise<void>((resolve) => udp.close(() => resolve()));
    if (tcp) await new Promise<void>((resolve) => tcp.close(() => resolve()));
  }

  /** Added before every answer; for names at or under `zone` when given, otherwise for all names. */
  setLatency(ms: number, zone?: string): void {
    if (zone === undefined) this.globalLatencyMs = ms;
    else this.zoneLatencyMs.set(normal(zone), ms);
  }

  /** Fault for names at or under `zone`; null clears it. 'query-error' answers A 127.255.255.254 like Spamhaus does. */
  setFailure(zone: string, mode: DnsFailureMode | null): void {
    if (mode === null) this.failures.delete(normal(zone));
    else this.failures.set(normal(zone), mode);
  }

  /**
   * Parks every answer until the returned release is called: lets a test see
   * which queries a client sends before it has received anything back.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      if (--this.holds > 0) return;
      const parked = this.parked;
      this.parked = [];
      for (const send of parked) send();
    };
  }

  /** Resolves once the query log satisfies `predicate` (checked now and on every new query). */
  waitForQueries(predicate: (queries: readonly DnsQueryRecord[]) => boolean): Promise<void> {
    if (predicate(this.queries)) return Promise.resolve();
    return new Promise((resolve) => {
      const check = () => {
        if (!predicate(this.queries)) return;
        this.listeners.delete(check);
        resolve();
      };
      this.listeners.add(check);
    });
  }

  private acceptTcp(socket: TcpSocket): void {
    this.connections.add(socket);
    socket.on('close', () => this.connections.delete(socket));
    socket.on('error', () => socket.destroy());
    let buffered = Buffer.alloc(0);
    socket.on('data', (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      // DNS over TCP: each message is preceded by its 2-byte length.
      while (buffered.length >= 2 && buffered.length >= 2 + buffered.readUInt16BE(0)) {
        const message = buffered.subarray(2, 2 + buffered.readUInt16BE(0));
        buffered = buffered.subarray(2 + message.length);
        this.handle(message, 'tcp', (res) => {
          if (socket.destroyed) return;
          const length = Buffer.alloc(2);
          length.writeUInt16BE(res.length);
          socket.write(Buffer.concat([length, res]));
        });
      }
    });
  }

  private handle(message: Buffer, transport: 'udp' | 'tcp', send: Send): void {
    let query: DecodedPacket;
    try {
      query = dnsPacket.decode(message);
    } catch {
      return; // Not DNS: nothing sensible to answer.
    }
    const question = query.questions?.[0];
    if (query.type !== 'query' || !question) return;
    const record: DnsQueryRecord = { name: question.name, type: question.type, transport, outcome: null };
    this.queries.push(record);
    for (const listener of [...this.listeners]) listener();

    const failure = this.lookupByZone(this.failures, question.name);
    if (failure === 'timeout') {
      record.outcome = 'dropped';
      return;
    }
    const reply = this.replyFor(query, failure);
    const deliver = () => {
      if (this.holds > 0) {
        this.parked.push(deliver);
        return;
      }
      const response = encodeReply(query, reply, transport);
      record.outcome = reply.rcode;
      send(response);
    };
    const latency = this.lookupByZone(this.zoneLatencyMs, question.name) ?? this.globalLatencyMs;
    if (latency <= 0) {
      deliver();
      return;
    }
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      deliver();
    }, latency);
    this.timers.add(timer);
  }

  private replyFor(query: Packet, failure: DnsFailureMode | undefined): Reply {
    const question = query.questions![0]!;
    const opcode = ((query.flags ?? 0) >> 11) & 0xf;
    if (opcode !== 0) return { rcode: 'NOTIMP', answers: [] };
    if (failure === 'servfail') return { rcode: 'SERVFAIL', answers: [] };
    if (failure === 'refused') return { rcode: 'REFUSED', answers: [] };
    if (failure === 'query-error') {
      const answers: Answer[] = question.type === 'A' ? [{ name: question.name, type: 'A', ttl: 0, class: 'IN', data: '127.255.255.254' }] : [];
      return { rcode: 'NOERROR', answers };
    }
    try {
      return respond(this.source, question);
    } catch {
      // A stored value that cannot be put on the wire: what a broken authoritative server causes.
      return { rcode: 'SERVFAIL', answers: [] };
    }
  }

  /** The value for the longest zone that `name` is at or under. */
  private lookupByZone<T>(map: Map<string, T>, name: string): T | undefined {
    let best: { zone: string; value: T } | undefined;
    for (const [zone, value] of map) {
      if (zoneMatches(name, zone) && (!best || zone.length > best.zone.length)) best = { zone, value };
    }
    return best?.value;
  }
}

const normal = (zone: string) => zone.toLowerCase().replace(/\.$/, '');
