import { createHash } from 'node:crypto';

/**
 * The benchmark's documents and fixture identities, shared by the harness, the upstream and every
 * implementation so that all of them do exactly the same work.
 */

export type ScenarioName =
  | 'mutation'
  | 'mutation-50ms'
  | 'mutation-50ms-webhook'
  | 'list-history'
  | 'aliased-20';

export interface Scenario {
  name: ScenarioName;
  /** The JSON body POSTed to /graphql. */
  body: string;
  /** How long the upstream takes to finish a job after the PUT. */
  jobLatencyMs: number;
  concurrencies: readonly number[];
  /**
   * The gateway runs in webhook mode (ZSTACK_WEBHOOK_URL at its own /zstack-webhook) and the
   * upstream calls back when each job ends; the peers ignore it and poll as usual.
   */
  webhook?: boolean;
}

/** The session every request carries (`Authorization: OAuth <uuid>`); the upstream accepts any. */
export const SESSION_UUID = '5b2f6c1e0d8a4e7f9c3b2a1d0e9f8c7b';

/** How many tickets the upstream holds; `tickets(first: 50)` returns all of them. */
export const TICKET_COUNT = 50;

/** Histories the upstream keeps per ticket. */
export const HISTORIES_PER_TICKET = 3;

/** Deterministic 32-hex uuids, so every process derives the same fixture without talking. */
export function fixtureUuid(kind: string, index: number): string {
  return createHash('md5').update(`${kind}-${index}`).digest('hex');
}

export function fixtureTicketUuid(index: number): string {
  return fixtureUuid('ticket', index);
}

export const MUTATION_DOCUMENT =
  'mutation Approve($input: ChangeTicketStatusInput!) { changeTicketStatus(input: $input) { ticket { uuid name description status request { requestName apiName executeTimes apiBody } accountSystemType accountSystemContext { projectUuid virtualIDUuid json } ticketTypeUuid currentFlowUuid flowCollectionUuid createDate lastOpDate } clientMutationId } }';

export const MUTATION_VARIABLES = {
  input: { uuid: fixtureTicketUuid(0), statusEvent: 'APPROVE', comment: 'ok' },
} as const;

export const LIST_HISTORY_DOCUMENT =
  'query { tickets(first: 50) { nodes { uuid name status createDate history { uuid fromStatus toStatus comment createDate } } } }';

export const ALIASED_COUNT = 20;

/** Every other fixture ticket, so the lookup is not simply "the first 20". */
export const ALIASED_UUIDS: readonly string[] = Array.from({ length: ALIASED_COUNT }, (_, i) =>
  fixtureTicketUuid((i * 2 + 1) % TICKET_COUNT),
);

export const ALIASED_DOCUMENT = `query { ${ALIASED_UUIDS.map((uuid, i) => `t${i}: ticket(uuid: "${uuid}") { uuid name status }`).join(' ')} }`;

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'mutation',
    body: JSON.stringify({ query: MUTATION_DOCUMENT, variables: MUTATION_VARIABLES }),
    jobLatencyMs: 0,
    concurrencies: [1, 10, 100],
  },
  {
    name: 'mutation-50ms',
    body: JSON.stringify({ query: MUTATION_DOCUMENT, variables: MUTATION_VARIABLES }),
    jobLatencyMs: 50,
    concurrencies: [10],
  },
  {
    name: 'mutation-50ms-webhook',
    body: JSON.stringify({ query: MUTATION_DOCUMENT, variables: MUTATION_VARIABLES }),
    jobLatencyMs: 50,
    concurrencies: [10],
    webhook: true,
  },
  {
    name: 'list-history',
    body: JSON.stringify({ query: LIST_HISTORY_DOCUMENT }),
    jobLatencyMs: 0,
    concurrencies: [1, 10, 100],
  },
  {
    name: 'aliased-20',
    body: JSON.stringify({ query: ALIASED_DOCUMENT }),
    jobLatencyMs: 0,
    concurrencies: [1, 10, 100],
  },
];
