import { afterAll, beforeAll } from 'vitest';
import type { RecordedRequest } from '../../src/simulator/index.js';
import { type Harness, startHarness } from './harness.js';
import { createManualTimer } from './manual-timer.js';
import { waitFor } from './wait.js';

/** The GETs of the ticket list the simulator saw under this session. */
export const ticketQueriesOf = (requests: readonly RecordedRequest[], session: string) =>
  requests.filter(
    (r) =>
      r.method === 'GET' && r.path.endsWith('/v1/tickets') && r.headers.authorization === `OAuth ${session}`,
  );

/**
 * The session's live-update polls (by lastOpDate), not the reads of named tickets (by uuid) with
 * which an instance fetches what the shared log told it changed.
 */
export const livePollsOf = (requests: readonly RecordedRequest[], session: string) =>
  ticketQueriesOf(requests, session).filter((r) => !decodeURIComponent(r.query).includes('uuid?=')).length;

/** Every GET of the ticket list the gateway's simulator saw. */
export const ticketPolls = (h: Harness) => h.simulator.controls.count({ method: 'GET', path: '/v1/tickets' });

/**
 * One gateway whose feed runs on a manual clock (1 s interval), for tests that count polls: one session
 * on one address, so only the per-session cap applies (raised to 1,000).
 */
export function useManualFeedHarness() {
  const manual = createManualTimer();
  const fx = {
    manual,
    h: undefined as unknown as Harness,
    admin: '',
    /** Fires the next due poll and waits until its answer is taken (the loop then sets its next timer). */
    async tick(ms: number, expectedPolls: number) {
      manual.advance(ms);
      await waitFor(
        () => ticketPolls(fx.h) === expectedPolls && manual.pending === 1,
        `poll ${expectedPolls}`,
      );
    },
  };
  beforeAll(async () => {
    fx.h = await startHarness({
      env: {
        TICKET_POLL_INTERVAL_MS: '1000',
        ZSTACK_TIME_ZONE: 'UTC',
        MAX_TICKET_SUBSCRIPTIONS_PER_SESSION: '1000',
        MAX_TICKET_SUBSCRIPTIONS_PER_ACCOUNT: '0',
        MAX_CONNECTIONS_PER_CLIENT: '0',
      },
      deps: { feedTimer: manual.timer },
    });
    fx.admin = await fx.h.adminSession();
  });
  afterAll(() => fx.h.close());
  return fx;
}
