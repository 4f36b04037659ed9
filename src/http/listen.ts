import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { App } from '../app.js';

export interface Listening {
  server: Server;
  /** The port actually bound (useful with port 0). */
  port: number;
}

/**
 * The node server every served gateway runs on, `npm start` and the tests alike: the app's handler
 * with the connection settings below.
 */
export async function listen(app: App, options: { port: number; host: string }): Promise<Listening> {
  return listenWith(app.handler, options);
}

/** The METRICS_PORT server: only GET /metrics (app.metricsHandler). */
export function listenMetrics(app: App, options: { port: number; host: string }): Promise<Listening> {
  return listenWith(app.metricsHandler, options);
}

async function listenWith(
  handler: App['handler'],
  options: { port: number; host: string },
): Promise<Listening> {
  const server = createServer(handler);
  // Longer than common load balancers' idle timeouts (60 s), so the balancer, not the gateway,
  // closes idle keep-alive connections and never sends a request onto a socket being closed.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return { server, port: (server.address() as AddressInfo).port };
}
