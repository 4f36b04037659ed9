import { ErrorCode } from '../../src/errors.js';
import type { SimulatorOptions } from '../../src/simulator/index.js';
import { type GraphQLPost, type GraphQLPostOptions, logInAt, postGraphQL } from '../helpers/graphql.js';
import { type Served, type StartOptions, startGateway } from '../helpers/harness.js';

/** What the ops client sees: status, headers, parsed body and raw text. */
export type GqlResult = GraphQLPost;

export interface OpsHarness extends Served {
  gql(query: string, variables?: Record<string, unknown>, options?: GraphQLPostOptions): Promise<GqlResult>;
  adminSession(): Promise<string>;
}

/** The served app (test/helpers/harness.ts) at LOG_LEVEL=info, with a client that keeps headers and raw text. */
export async function startOps(
  options: {
    simulator?: SimulatorOptions;
    env?: Record<string, string>;
    tracer?: StartOptions['tracer'];
    abortControllers?: boolean;
  } = {},
): Promise<OpsHarness> {
  const served = await startGateway({
    simulator: options.simulator,
    tracer: options.tracer,
    abortControllers: options.abortControllers,
    env: { LOG_LEVEL: 'info', ZSTACK_TIME_ZONE: 'UTC', ...options.env },
  });
  const { url, simulator } = served;

  const gql: OpsHarness['gql'] = (query, variables, opts) => postGraphQL(url, query, variables, opts);
  const adminSession = () => {
    const { admin } = simulator.controls.demo;
    return logInAt(url, { accountName: admin.accountName, password: admin.password });
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
