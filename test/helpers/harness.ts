import type { Server } from 'node:http';
import { type App, type AppOptions, createApp } from '../../src/app.js';
import { type Config, loadConfig } from '../../src/config/index.js';
import type { Gateway } from '../../src/gateway.js';
import { type Listening, listen, listenMetrics } from '../../src/http/listen.js';
import { createLogger } from '../../src/observability/logger.js';
import { type Simulator, type SimulatorOptions, startSimulator } from '../../src/simulator/index.js';
import { type GraphQLBody, logInAt, postGraphQL } from './graphql.js';

/** A GraphQL response body with its HTTP status beside data and errors. */
export interface GraphQLResponse<T = Record<string, unknown>> extends GraphQLBody<T> {
  status: number;
}

export interface StartOptions {
  simulator?: SimulatorOptions;
  /**
   * A simulator already running (several gateways in front of one ZStack): used as is, and left
   * running by close(). `simulator` is then ignored.
   */
  upstream?: Simulator;
  /** The environment the gateway's config is read from (LOG_LEVEL defaults to silent). */
  env?: Record<string, string>;
  /** createApp's deps (an upstream client of the test's own). */
  deps?: AppOptions['deps'];
  /** createApp's tracer (an in-memory exporter's). */
  tracer?: AppOptions['tracer'];
  /** createApp's AbortController signals (the bench's A/B switch, ABORT_SIGNALS=abort-controller). */
  abortControllers?: boolean;
}

/** The app `npm start` serves (createApp + listen), on port 0 in front of a simulator. */
export interface Served {
  simulator: Simulator;
  app: App;
  gateway: Gateway;
  server: Server;
  config: Config;
  /** http://127.0.0.1:<port> */
  base: string;
  /** `${base}/graphql` */
  url: string;
  /** Every log line written so far (raw JSON text). */
  logs: string[];
  /** Every job-done notice the upstream client was given (a webhook callback, or relayed through Redis), in order. */
  jobNotices: { jobUuid: string; at: number }[];
  /** http://127.0.0.1:<port> of the METRICS_PORT server, when the env sets METRICS_PORT (bound on port 0). */
  metricsBase: string | undefined;
  close(): Promise<void>;
}

/** Starts a simulator and, in front of it, the very app src/server.ts serves, with its log lines captured. */
export async function startGateway(options: StartOptions = {}): Promise<Served> {
  const simulator = options.upstream ?? (await startSimulator({ port: 0, ...options.simulator }));
  const config = loadConfig({ LOG_LEVEL: 'silent', ...options.env });
  const logs: string[] = [];
  const logger = createLogger(config.logLevel, {
    write(line: string) {
      logs.push(line);
    },
  });
  const jobNotices: Served['jobNotices'] = [];
  const onJobNotice = (jobUuid: string) => {
    jobNotices.push({ jobUuid, at: Date.now() });
    options.deps?.onJobNotice?.(jobUuid);
  };
  const app = createApp(
    { ...config, zstackUrl: simulator.url },
    {
      logger,
      deps: { ...options.deps, onJobNotice },
      tracer: options.tracer,
      abortControllers: options.abortControllers,
    },
  );
  const { server, port } = await listen(app, { ...config, port: 0, host: '127.0.0.1' });
  const base = `http://127.0.0.1:${port}`;
  // As src/server.ts does with METRICS_PORT, on a port of its own (0 here).
  let metrics: Listening | undefined;
  if (config.metricsPort !== undefined) metrics = await listenMetrics(app, { port: 0, host: '127.0.0.1' });
  return {
    simulator,
    app,
    gateway: app.gateway,
    server,
    config,
    base,
    url: `${base}/graphql`,
    logs,
    jobNotices,
    metricsBase: metrics && `http://127.0.0.1:${metrics.port}`,
    async close() {
      server.closeAllConnections();
      app.closeSockets();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (metrics) {
        const m = metrics.server;
        m.closeAllConnections();
        await new Promise<void>((resolve) => m.close(() => resolve()));
      }
      await app.close();
      if (options.upstream === undefined) await simulator.close();
    },
  };
}

export interface Harness extends Served {
  /** POSTs a GraphQL operation; `session` goes as `Authorization: OAuth <session>`. */
  gql<T = Record<string, unknown>>(
    query: string,
    variables?: Record<string, unknown>,
    options?: { session?: string; authorization?: string },
  ): Promise<GraphQLResponse<T>>;
  /** Logs in at the gateway and returns the session uuid. */
  logIn(input: Record<string, unknown>): Promise<string>;
  /** Logs in at the gateway as the simulator's demo admin account and returns the session uuid. */
  adminSession(): Promise<string>;
}

/** startGateway with a JSON client for its /graphql. */
export async function startHarness(options: StartOptions = {}): Promise<Harness> {
  const served = await startGateway(options);
  const gql: Harness['gql'] = async (query, variables, opts = {}) => {
    const res = await postGraphQL(served.url, query, variables, opts);
    return { status: res.status, ...res.body } as never;
  };
  const logIn: Harness['logIn'] = (input) => logInAt(served.url, input);
  const adminSession = () => {
    const { admin } = served.simulator.controls.demo;
    return logIn({ accountName: admin.accountName, password: admin.password });
  };

  return { ...served, gql, logIn, adminSession };
}

/** The uuids of the simulator's Pending tickets, in its order. */
export function pendingTicketUuids(simulator: Simulator): string[] {
  return simulator.controls
    .listTickets()
    .filter((t) => t.status === 'Pending')
    .map((t) => t.uuid as string);
}
