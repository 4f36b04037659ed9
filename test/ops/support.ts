import { request } from 'undici';
import { ErrorCode } from '../../src/errors.js';
import type { SimulatorOptions } from '../../src/simulator/index.js';
import { type Served, type StartOptions, startGateway } from '../helpers/harness.js';

export interface GqlResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  };
  text: string;
}

export interface OpsHarness extends Served {
  gql(
    query: string,
    variables?: Record<string, unknown>,
    options?: { session?: string; headers?: Record<string, string> },
  ): Promise<GqlResult>;
  adminSession(): Promise<string>;
}

/** The served app (test/helpers/harness.ts) at LOG_LEVEL=info, with a client that keeps headers and raw text. */
export async function startOps(
  options: {
    simulator?: SimulatorOptions;
    env?: Record<string, string>;
    tracer?: StartOptions['tracer'];
  } = {},
): Promise<OpsHarness> {
  const served = await startGateway({
    simulator: options.simulator,
    tracer: options.tracer,
    env: { LOG_LEVEL: 'info', ZSTACK_TIME_ZONE: 'UTC', ...options.env },
  });
  const { url, simulator } = served;

  const gql: OpsHarness['gql'] = async (query, variables, opts = {}) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
      ...opts.headers,
    };
    if (opts.session) headers.authorization = `OAuth ${opts.session}`;
    const res = await request(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, body: JSON.parse(text), text };
  };

  const adminSession = async () => {
    const { admin } = simulator.controls.demo;
    const res = await gql('mutation($i: LogInInput!) { logIn(input: $i) { session { uuid } } }', {
      i: { kind: 'ACCOUNT', accountName: admin.accountName, password: admin.password },
    });
    const uuid = (res.body.data?.logIn as { session?: { uuid?: string } } | undefined)?.session?.uuid;
    if (!uuid) throw new Error(`logIn failed: ${res.text}`);
    return uuid;
  };

  return { ...served, gql, adminSession };
}

export const CHANGE = `mutation Change($input: ChangeTicketStatusInput!) {
  changeTicketStatus(input: $input) { ticket { uuid status } }
}`;

/** Codes a caller can act on (the gateway's one list, less INTERNAL_SERVER_ERROR): anything else is a bug. */
export const KNOWN_CODES: ReadonlySet<string> = new Set(
  Object.values(ErrorCode).filter((code) => code !== ErrorCode.INTERNAL_SERVER_ERROR),
);
