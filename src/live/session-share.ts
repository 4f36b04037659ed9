/**
 * A session's side of the share among instances (src/live/cluster.ts): its poll lease, what its polls
 * append to the shared log, the reads of tickets the log (or another session's mutation) names, and
 * how a ticket state is named there (a digest, never ticket data).
 */
import { createHash } from 'node:crypto';
import type { ZStackClient } from '../zstack/client.js';
import { ZStackResponseTooLargeError } from '../zstack/errors.js';
import { MAX_UUIDS_PER_QUERY, type QueryParams } from '../zstack/query.js';
import { queryTickets } from '../zstack/tickets.js';
import type { ApiTicket } from '../zstack/types.js';
import type { FeedShare } from './cluster.js';
import { type FeedTimer, pollLeaseMs, READ_MIN_GAP_MS, REREAD_BATCH } from './feed-schedule.js';
import { CHANGE_FIELDS, type FeedChange } from './shared-log.js';
import { ticketFingerprint } from './ticket-filter.js';

/**
 * A ticket's state as a short digest: what `seen` keeps, and what an entry of the shared log names a
 * state by (so an instance that has it already neither reads nor emits it again), without carrying
 * ticket data.
 */
export function stateDigest(ticket: ApiTicket): string {
  return createHash('sha256').update(ticketFingerprint(ticket)).digest('base64url').slice(0, 22);
}

/** A ticket as the shared log names it: uuid, the fields filters read, lastOpDate, digest. */
export function changeOf(ticket: ApiTicket): FeedChange {
  const change: FeedChange = { uuid: ticket.uuid, fp: stateDigest(ticket) };
  const source = ticket as unknown as Record<string, unknown>;
  for (const field of CHANGE_FIELDS) {
    const value = source[field];
    if (typeof value === 'string') change[field] = value;
  }
  return change;
}

/** Most fingerprints a session keeps (tickets at the watermark second and pushed ones), and most named tickets waiting. */
export const MAX_SEEN = 10_000;

type Lease = Awaited<ReturnType<FeedShare['claim']>>;

/** A session's poll lease among instances, and what its polls append to the shared log. */
export class SessionLease {
  /** This instance held the session's poll lease at its last poll. */
  leader = false;
  /** Another instance holds the lease: when it runs out. */
  leaseFreeInMs: number | undefined;
  private sharedSince: string | undefined;

  constructor(
    private readonly share: FeedShare | undefined,
    /** The session's name among instances (HMAC of the token); undefined when alone. */
    readonly key: string | undefined,
    private readonly intervalMs: number,
  ) {}

  /** Whether there is a share to claim the lease in (else: polling alone, never awaiting). */
  get shared(): boolean {
    return this.share !== undefined && this.key !== undefined;
  }

  /** Asks for the lease (only when `shared`); `took` records the answer. */
  claim(): Promise<Lease> {
    return (this.share as FeedShare).claim(this.key as string, pollLeaseMs(this.intervalMs));
  }

  took(lease: Lease): void {
    this.leader = lease.mine;
    if (!lease.mine) this.leaseFreeInMs = lease.retryInMs;
  }

  /** Gives the lease up if this instance holds it. */
  release(): void {
    if (this.leader && this.key !== undefined) this.share?.release(this.key);
    this.leader = false;
  }

  /** The first poll's watermark: not appended (its tickets are not changes). */
  baseline(since: string): void {
    this.sharedSince = since;
  }

  /**
   * Shared: a poll's changes go into the shared log, then the watermark it reached (never for the
   * first poll, whose tickets are not changes: another instance must not skip what it has not seen).
   * Appended whoever polled (the lease holder, or this instance alone while Redis failed), so the
   * others always get what a poll found; the log keeps the order, so no instance moves its watermark
   * past a change before it has that change.
   */
  append(since: string, changed: ApiTicket[]): void {
    if (this.key === undefined || this.share === undefined) return;
    if (changed.length === 0 && since === this.sharedSince) return;
    this.sharedSince = since;
    this.share.append({ kind: 'poll', key: this.key, since, changes: changed.map(changeOf) });
  }
}

/**
 * The tickets named to this session (by the shared log, or another session's mutation): read from
 * ZStack under this session, in batches, at most once per READ_MIN_GAP_MS, and handed to `deliver`.
 */
export class NamedReads {
  /** Changed tickets named by the shared log (or another session's mutation): to read from ZStack. */
  private readonly toReread = new Set<string>();
  private rereading = false;
  private readTimer: unknown;
  private lastReadAt: number | undefined;
  private stopped = false;

  constructor(
    private readonly client: ZStackClient,
    private readonly session: string,
    private readonly timer: FeedTimer,
    private readonly onError: (err: unknown, what: string) => void,
    private readonly deliver: (ticket: ApiTicket) => void,
  ) {}

  get size(): number {
    return this.toReread.size;
  }

  /** A ticket to read; past MAX_SEEN waiting (ZStack away for long) more are dropped: memory stays bounded. */
  add(uuid: string): void {
    if (this.toReread.size < MAX_SEEN) this.toReread.add(uuid);
  }

  /**
   * Reads the named tickets now, or once READ_MIN_GAP_MS has passed since the last read began; what
   * is named meanwhile goes in that one read.
   */
  readSoon(): void {
    if (this.stopped || this.toReread.size === 0 || this.rereading || this.readTimer !== undefined) return;
    const timer = this.timer;
    const delay =
      this.lastReadAt === undefined ? 0 : Math.max(0, this.lastReadAt + READ_MIN_GAP_MS - timer.now());
    const run = () => {
      this.readTimer = undefined;
      this.lastReadAt = timer.now();
      // A failed read is not retried here (ZStack may be down): the next poll interval retries it.
      this.readBatch().then(
        () => this.readSoon(),
        (err: unknown) => {
          this.onError(err, 'ticket feed could not re-read shared tickets; retrying next interval');
        },
      );
    };
    if (delay === 0) run();
    else this.readTimer = timer.setTimeout(run, delay);
  }

  /** Reads every named ticket (the poll's retry of failed reads). */
  async reread(): Promise<void> {
    while (this.toReread.size > 0 && !this.stopped && !this.rereading) {
      if (!(await this.readBatch())) return;
    }
  }

  /**
   * Reads one batch of the named tickets with this session and emits them as any change; false when
   * another read is running. Over ZSTACK_MAX_RESPONSE_BYTES it asks for fewer; one ticket alone that
   * big cannot be shown at all and is skipped. A failed read stays named for the next try.
   */
  private async readBatch(): Promise<boolean> {
    if (this.rereading) return false;
    this.rereading = true;
    let batch = Math.min(REREAD_BATCH, MAX_UUIDS_PER_QUERY);
    try {
      while (this.toReread.size > 0 && !this.stopped) {
        const uuids = [...this.toReread].slice(0, batch);
        let rows: ApiTicket[];
        try {
          const query: QueryParams = {
            conditions: [{ field: 'uuid', op: '?=', value: uuids }],
            limit: uuids.length,
          };
          rows = (await queryTickets(this.client, query, { session: this.session })).inventories ?? [];
        } catch (err) {
          if (err instanceof ZStackResponseTooLargeError && batch > 1) {
            batch = Math.max(1, Math.floor(batch / 2));
            continue;
          }
          if (err instanceof ZStackResponseTooLargeError) {
            this.toReread.delete(uuids[0] as string);
            this.onError(err, 'ticket feed skipped a shared ticket larger than ZSTACK_MAX_RESPONSE_BYTES');
            continue;
          }
          throw err;
        }
        // A uuid ZStack no longer returns (deleted, or not visible to the session) is done.
        for (const uuid of uuids) this.toReread.delete(uuid);
        for (const ticket of rows) this.deliver(ticket);
        return true;
      }
      return true;
    } finally {
      this.rereading = false;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.readTimer !== undefined) this.timer.clearTimeout(this.readTimer);
    this.readTimer = undefined;
  }
}
