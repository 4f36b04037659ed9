import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { type Config, loadConfig } from '../../src/config.js';
import { createGateway, type Gateway, type GatewayDeps } from '../../src/gateway.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';

export interface GraphQLResponse<T = Record<string, unknown>> {
  status: number;
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
}

export interface Harness {
  simulator: Simulator;
  gateway: Gateway;
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  /** POSTs a GraphQL operation; `session` goes as `Authorization: OAuth <session>`. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { session?: string; authorization?: string },
  ): Promise<GraphQLResponse<T>>;
  /** Logs in at the gateway and returns the session uuid. */
  logIn(input: Record<string, unknown>): Promise<string>;
  close(): Promise<void>;
}

/** A simulator and a gateway, both listening on port 0. */
export async function startHarness(
  options: { simulator?: SimulatorOptions; env?: Record<string, string>; deps?: GatewayDeps } = {},
): Promise<Harness> {
  const simulator = await startSimulator({ port: 0, ...options.simulator });
  const config: Config = loadConfig({ LOG_LEVEL: 'silent', ...options.env });
  // Errors are asserted on, not printed: yoga's own logger stays quiet unless a test asks for it.
  const gateway = createGateway({ ...config, zstackUrl: simulator.url }, { logging: false, ...options.deps });
  const server: Server = createServer(gateway.yoga);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;

  const gql: Harness['gql'] = async (query, variables, opts = {}) => {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/json',
    };
    const authorization = opts.authorization ?? (opts.session ? `OAuth ${opts.session}` : undefined);
    if (authorization) headers.authorization = authorization;
    const res = await request(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    const text = await res.body.text();
    return { status: res.statusCode, ...(JSON.parse(text) as object) } as never;
  };

  const logIn: Harness['logIn'] = async (input) => {
    const res = await gql<{ logIn: { session: { uuid: string } } }>(
      'mutation($input: LogInInput!) { logIn(input: $input) { session { uuid } } }',
      { input },
    );
    const uuid = res.data?.logIn.session.uuid;
    if (!uuid) throw new Error(`logIn failed: ${JSON.stringify(res.errors)}`);
    return uuid;
  };

  return {
    simulator,
    gateway,
    url,
    gql,
    logIn,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await gateway.close();
      await simulator.close();
    },
  };
}
