import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { loadConfig } from '../../src/config.js';
import { type App, createApp } from '../../src/http.js';
import { createLogger } from '../../src/logger.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';

export interface GqlResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: {
    data?: Record<string, unknown> | null;
    errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, unknown> }[];
  };
  text: string;
}

export interface OpsHarness {
  simulator: Simulator;
  app: App;
  server: Server;
  /** http://127.0.0.1:<port> */
  base: string;
  /** `${base}/graphql` */
  url: string;
  /** Every log line written so far (raw JSON text). */
  logs: string[];
  gql(
    query: string,
    variables?: Record<string, unknown>,
    options?: { session?: string; headers?: Record<string, string> },
  ): Promise<GqlResult>;
  adminSession(): Promise<string>;
  close(): Promise<void>;
}

/** A simulator and the full HTTP app (createApp) on port 0, with its log lines captured. */
export async function startOps(
  options: { simulator?: SimulatorOptions; env?: Record<string, string> } = {},
): Promise<OpsHarness> {
  const simulator = await startSimulator({ port: 0, ...options.simulator });
  const config = loadConfig({ LOG_LEVEL: 'info', ZSTACK_TIME_ZONE: 'UTC', ...options.env });
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, {
    write(line: string) {
      logs.push(line);
    },
  });
  const app = createApp({ ...config, zstackUrl: simulator.url }, { logger });
  const server = createServer(app.handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const url = `${base}/graphql`;

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

  return {
    simulator,
    app,
    server,
    base,
    url,
    logs,
    gql,
    adminSession,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await app.close();
      await simulator.close();
    },
  };
}

export const CHANGE = `mutation Change($input: ChangeTicketStatusInput!) {
  changeTicketStatus(input: $input) { ticket { uuid status } }
}`;

/** Codes a caller can act on; anything else in a response is a bug. */
export const KNOWN_CODES = new Set([
  'UNAUTHENTICATED',
  'FORBIDDEN',
  'NOT_FOUND',
  'BAD_USER_INPUT',
  'UPSTREAM_TIMEOUT',
  'UPSTREAM_ERROR',
  'UPSTREAM_UNAVAILABLE',
  'JOB_PENDING',
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_REQUEST',
  'DEPTH_LIMIT_EXCEEDED',
  'ALIAS_LIMIT_EXCEEDED',
  'TOKEN_LIMIT_EXCEEDED',
  'COST_LIMIT_EXCEEDED',
  'PAYLOAD_TOO_LARGE',
]);
