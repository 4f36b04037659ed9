import { constants as osConstants } from 'node:os';
import { createApp } from './app.js';
import { ConfigError, loadConfig, SHUTDOWN_ANSWER_WINDOW_MS } from './config/index.js';
import { createReadiness } from './http/health.js';
import { type Listening, listen, listenMetrics } from './http/listen.js';
import { createLogger, flushLogs, scrubUuids } from './observability/logger.js';
import type { Tracing } from './observability/tracing.js';

/**
 * Before a logger exists (a bad configuration, a failed start): in production one JSON line like
 * every other stdout line, for log collectors; plain text on stderr for a person at a terminal.
 */
function reportEarly(production: boolean, message: string, details: Record<string, unknown>): void {
  if (production) {
    const logger = createLogger('info');
    logger.fatal(details, message);
    flushLogs(logger);
  } else {
    const lines = Object.values(details).flatMap((v) => (Array.isArray(v) ? v : [String(v)]));
    console.error(`${message}:\n  ${lines.join('\n  ')}`);
  }
}

/** Process entry only: config → (embedded simulator) → gateway → listen → drain on SIGTERM/SIGINT. */
async function main(): Promise<void> {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      reportEarly(process.env.NODE_ENV === 'production', 'Invalid configuration', { problems: err.problems });
      process.exit(2);
    }
    throw err;
  }

  let zstackUrl: string = config.zstackUrl ?? '';
  let closeSimulator: (() => Promise<void>) | undefined;
  let demoBanner = '';
  // loadConfig refuses a production start without ZSTACK_URL, so this is a demo.
  if (!zstackUrl) {
    const { startSimulator } = await import('./simulator/index.js');
    const simulator = await startSimulator({ port: 0, host: '127.0.0.1' });
    zstackUrl = simulator.url;
    closeSimulator = simulator.close;
    const { demo } = simulator.controls;
    demoBanner = [
      '',
      '************************************************************************',
      '*  DEMO MODE: ZSTACK_URL is not set, so the gateway is serving an       *',
      '*  embedded ZStack SIMULATOR with demo data. Nothing here is real.      *',
      '************************************************************************',
      `  simulator: ${simulator.url}`,
      '  demo logins (logIn mutation):',
      `    admin account   kind: ACCOUNT          accountName: "${demo.admin.accountName}"  password: "${demo.admin.password}"`,
      ...demo.approvers.map(
        (a, i) =>
          `    approver ${i + 1}      kind: IAM2_VIRTUAL_ID  virtualIdName: "${a.name}"  password: "${a.password}"  (uuid ${a.uuid})`,
      ),
      ...demo.submitters.map(
        (s, i) =>
          `    submitter ${i + 1}     kind: IAM2_VIRTUAL_ID  virtualIdName: "${s.name}"  password: "${s.password}"  (uuid ${s.uuid})`,
      ),
      `  project uuid (accountSystemContext.projectUuid of createTicket): ${demo.projectUuid}`,
      '',
    ].join('\n');
  }

  // OpenTelemetry is loaded only when configured: an untraced gateway never imports it.
  let tracer: Tracing | undefined;
  if (config.tracing) tracer = (await import('./observability/tracing.js')).createTracing();
  // The bench's side-by-side switch (bench/README.md), not a setting: JSON POSTs through yoga's handler.
  const postEntry = process.env.GRAPHQL_POST_ENTRY === 'yoga' ? 'yoga' : 'ours';
  // The same kind of switch: @envelop/graphql-jit (a devDependency, loaded only then) instead of our jit plugin.
  const envelopJit =
    process.env.GRAPHQL_JIT_PLUGIN === 'envelop'
      ? (await import('./plugins/jit-envelop.js')).createEnvelopJitPlugins
      : undefined;
  // And one more: AbortController signals instead of CloseSignal and the transport's Attempt.
  const abortControllers = process.env.ABORT_SIGNALS === 'abort-controller';
  const app = createApp({ ...config, zstackUrl }, { tracer, postEntry, envelopJit, abortControllers });
  const { logger } = app;
  const { server, port } = await listen(app, config);
  let metricsServer: Listening | undefined;
  if (config.metricsPort !== undefined) {
    metricsServer = await listenMetrics(app, { port: config.metricsPort, host: config.host });
  }
  const shownHost = config.host === '0.0.0.0' ? 'localhost' : config.host;
  const graphiql = app.gateway.graphiql ? ' (GraphiQL in a browser)' : '';
  // Production stdout is JSON lines only (log collectors); the plain lines are for a terminal.
  if (!config.production) {
    if (demoBanner) console.log(demoBanner);
    console.log(`zstack-graphql listening: http://${shownHost}:${port}/graphql${graphiql}`);
    if (!demoBanner) console.log(`upstream ZStack: ${zstackUrl}`);
  }
  logger.info(
    {
      port,
      host: config.host,
      zstackUrl,
      metricsPort: metricsServer?.port,
      graphiql: app.gateway.graphiql,
      tracing: config.tracing,
    },
    'listening',
  );
  // ZStack down at start is worth a line now, not only a 503 from /ready later; the gateway
  // still starts (ZStack may come up after it) and answers once ZStack does.
  if (config.startupCheckMs > 0) {
    const probe = createReadiness({ zstackUrl, timeoutMs: config.startupCheckMs, cacheMs: 0 });
    void probe
      .check()
      .then((verdict) => {
        if (!verdict.ready) {
          logger.warn(
            { reason: verdict.reason },
            'ZStack does not answer at start; the gateway is up, /ready answers 503 until ZStack does',
          );
        }
      })
      .finally(() => probe.close());
  }

  /** Writes every buffered log line, then exits: no line is lost, however the process ends. */
  const exit = (code: number): never => {
    flushLogs(logger);
    process.exit(code);
  };

  let stopping = false;
  const stop = async (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal: the operator wants out now (Ctrl-C twice). The usual 128 + signal number.
      logger.warn({ signal, inFlight: app.inFlight }, 'second signal; exiting now');
      exit(128 + (osConstants.signals[signal] ?? 1));
      return;
    }
    stopping = true;
    logger.info({ signal, inFlight: app.inFlight, graceMs: config.shutdownGraceMs }, 'stopping');
    // Stop accepting first; requests already received run to the end (a write must not be cut off
    // between being sent to ZStack and its answer reaching the caller), up to the grace period.
    app.drain();
    // At the grace end every upstream call and job wait still running stops, so each request still
    // running answers (a mutation waiting for its job: JOB_PENDING with its jobUuid) instead of
    // having its connection cut; the answers then get SHUTDOWN_ANSWER_WINDOW_MS to be written.
    app.endWorkAt(Date.now() + config.shutdownGraceMs);
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    server.closeIdleConnections();
    let timer: NodeJS.Timeout | undefined;
    const graceOver = new Promise<boolean>((resolve) => {
      timer = setTimeout(resolve, config.shutdownGraceMs + SHUTDOWN_ANSWER_WINDOW_MS, false);
    });
    const drained = await Promise.race([app.idle().then(() => true), graceOver]);
    clearTimeout(timer);
    if (!drained) logger.warn({ inFlight: app.inFlight }, 'grace period over; closing open connections');
    server.closeAllConnections();
    app.closeSockets();
    await closed;
    if (metricsServer !== undefined) {
      const m = metricsServer.server;
      m.closeAllConnections();
      await new Promise<void>((resolve) => m.close(() => resolve()));
    }
    await app.close();
    await tracer?.shutdown().catch(() => undefined);
    await closeSimulator?.();
    logger.info('stopped');
    exit(0);
  };
  // A crash still leaves its line (and every line before it) on stdout.
  const fatal = (err: unknown) => {
    logger.fatal(
      {
        err:
          err instanceof Error
            ? { type: err.name, message: scrubUuids(err.message) }
            : scrubUuids(String(err)),
      },
      'fatal',
    );
    exit(1);
  };
  process.on('uncaughtException', fatal);
  process.on('unhandledRejection', fatal);
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
}

main().catch((err: unknown) => {
  reportEarly(process.env.NODE_ENV === 'production', 'zstack-graphql failed to start', {
    error: scrubUuids(err instanceof Error ? err.message : String(err)),
  });
  process.exit(1);
});
