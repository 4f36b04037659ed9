import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

/** The connection limits (src/config/types.ts documents each). */
export interface ConnectionLimits {
  /** Most client connections open at once (MAX_CONNECTIONS). */
  maxConnections: number;
  /** Most connections from one client address (MAX_CONNECTIONS_PER_CLIENT); 0 = no per-address cap. */
  maxConnectionsPerClient: number;
}

/**
 * The key a client address is counted under: an IPv4 address as is (an IPv4-mapped IPv6 address as
 * its IPv4 form), an IPv6 address by its /64 prefix, since one host commonly holds a whole /64 and
 * could otherwise open its share from each address of it.
 */
export function clientKey(address: string | undefined): string {
  if (address === undefined || address === '') return '';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1] !== undefined) return mapped[1];
  if (!address.includes(':')) return address;
  const [head = '', tail] = address.split('%')[0]?.split('::') ?? [];
  const front = head === '' ? [] : head.split(':');
  const back = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups = [...front, ...Array(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back];
  return `${groups
    .slice(0, 4)
    .map((g) => Number.parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/** Why a new connection was refused: the whole gateway's cap, or its address's. */
export type RefusalScope = 'total' | 'client';

/** What happened at the caps, for the log line (one per interval, with counts). */
export interface ConnectionEvents {
  /** A new connection was closed at once: no idle connection could make room. */
  onRefused(scope: RefusalScope): void;
  /** An idle keep-alive connection was closed to make room for a new one. */
  onEvicted(scope: RefusalScope): void;
}

interface Entry {
  socket: Socket;
  address: string;
  /** Requests on this connection whose response has not closed yet (more than one when pipelined). */
  busy: number;
}

const ENTRY: unique symbol = Symbol('connectionEntry');
type Tracked = Socket & { [ENTRY]?: Entry };

/** A Set used as an ordered list: insertion order is age, so the first is the oldest. */
function first<T>(set: Set<T> | undefined): T | undefined {
  if (set === undefined) return undefined;
  for (const item of set) return item;
  return undefined;
}

/**
 * Fair share of the server's connections. Every accepted connection is counted, in all and per
 * client address; a connection is idle while it has no request whose response is still open (a new
 * connection before its first request is idle too). At a cap, the oldest idle connection (of that
 * address, for the per-address cap) is closed to make room, the way node's closeIdleConnections
 * closes one; only when none is idle is the newcomer refused (closed at once, as node's
 * maxConnections would). A busy connection (a request being served, an SSE stream) is never closed
 * here, so the caps on streams (src/live/ticket-feed.ts) stay below these.
 */
export class ConnectionTable {
  private readonly all = new Set<Socket>();
  /** Idle connections, longest idle first. */
  private readonly idle = new Set<Socket>();
  private readonly byAddress = new Map<string, { count: number; idle: Set<Socket> }>();

  constructor(
    private readonly limits: ConnectionLimits,
    private readonly events: ConnectionEvents,
  ) {}

  get size(): number {
    return this.all.size;
  }

  get idleCount(): number {
    return this.idle.size;
  }

  /** Connections open from this address. */
  countOf(address: string): number {
    return this.byAddress.get(address)?.count ?? 0;
  }

  /** Hooks the table to a server; call before it listens. node's own maxConnections stays unset. */
  attach(server: Server): void {
    // Before node's own connection listener: a refused socket gets no parser.
    server.prependListener('connection', (socket: Socket) => this.admit(socket));
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) =>
      this.busy(req.socket, res),
    );
  }

  /** A new connection: counted, after room was made for it; false when it was refused (destroyed). */
  admit(socket: Socket): boolean {
    const address = clientKey(socket.remoteAddress);
    const perClient = this.limits.maxConnectionsPerClient;
    if (perClient > 0 && this.countOf(address) >= perClient) {
      const victim = first(this.byAddress.get(address)?.idle);
      if (victim === undefined) return this.refuse(socket, 'client');
      this.evict(victim, 'client');
    }
    if (this.all.size >= this.limits.maxConnections) {
      const victim = first(this.idle);
      if (victim === undefined) return this.refuse(socket, 'total');
      this.evict(victim, 'total');
    }
    const entry: Entry = { socket, address, busy: 0 };
    (socket as Tracked)[ENTRY] = entry;
    this.all.add(socket);
    this.idle.add(socket);
    let slot = this.byAddress.get(address);
    if (slot === undefined) {
      slot = { count: 0, idle: new Set() };
      this.byAddress.set(address, slot);
    }
    slot.count++;
    slot.idle.add(socket);
    socket.once('close', () => this.forget(entry));
    return true;
  }

  private refuse(socket: Socket, scope: RefusalScope): false {
    socket.destroy();
    this.events.onRefused(scope);
    return false;
  }

  private evict(socket: Socket, scope: RefusalScope): void {
    const entry = (socket as Tracked)[ENTRY];
    // Uncounted now: the room is the newcomer's even before the close event comes.
    if (entry !== undefined) this.forget(entry);
    socket.destroy();
    this.events.onEvicted(scope);
  }

  /** A connection taken over by another protocol (a WebSocket): busy until it closes. */
  hold(socket: Socket): void {
    const entry = (socket as Tracked)[ENTRY];
    if (entry === undefined || !this.all.has(socket)) return;
    entry.busy++;
    this.idle.delete(socket);
    this.byAddress.get(entry.address)?.idle.delete(socket);
  }

  private busy(socket: Socket, res: ServerResponse): void {
    const entry = (socket as Tracked)[ENTRY];
    if (entry === undefined || !this.all.has(socket)) return;
    entry.busy++;
    this.idle.delete(socket);
    this.byAddress.get(entry.address)?.idle.delete(socket);
    // One listener function for every response (no closure per request); 'close' comes once.
    (res as ServerResponse & { [ENTRY]?: Entry })[ENTRY] = entry;
    res.on('close', this.responseClosed);
  }

  /** A response finished or its connection closed: its connection is idle again once none is open. */
  private readonly responseClosed = (() => {
    const table = this;
    return function (this: ServerResponse & { [ENTRY]?: Entry }): void {
      const entry = this[ENTRY];
      if (entry === undefined) return;
      entry.busy--;
      const { socket } = entry;
      if (entry.busy > 0 || !table.all.has(socket) || socket.destroyed) return;
      // To the end of the idle order: idle since now.
      table.idle.add(socket);
      table.byAddress.get(entry.address)?.idle.add(socket);
    };
  })();

  private forget(entry: Entry): void {
    const { socket, address } = entry;
    if (!this.all.delete(socket)) return;
    this.idle.delete(socket);
    const slot = this.byAddress.get(address);
    if (slot === undefined) return;
    slot.idle.delete(socket);
    slot.count--;
    if (slot.count === 0) this.byAddress.delete(address);
  }
}
