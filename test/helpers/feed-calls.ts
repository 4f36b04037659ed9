import type { RecordedRequest } from '../../src/simulator/index.js';

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
