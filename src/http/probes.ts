import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { Metrics } from '../observability/metrics.js';
import type { Readiness } from './health.js';
import { plain } from './refusals.js';
import { sendJson } from './respond.js';
import { pathOf } from './router.js';

export interface ProbeOptions {
  readiness: Readiness;
  metrics: Metrics;
  /** Shutdown has begun: /ready answers 503. */
  draining(): boolean;
}

/** The probes (/health, /ready) and /metrics: GET or HEAD only, plain JSON answers. */
export function createProbes(o: ProbeOptions) {
  async function serveReady(res: ServerResponse): Promise<void> {
    if (o.draining()) {
      sendJson(res, 503, plain.draining);
      return;
    }
    const verdict = await o.readiness.check();
    const body = verdict.ready ? { status: 'ready' } : { status: 'unavailable', reason: verdict.reason };
    sendJson(res, verdict.ready ? 200 : 503, JSON.stringify(body));
  }

  async function serveMetrics(res: ServerResponse): Promise<void> {
    const body = await o.metrics.registry.metrics();
    res.writeHead(200, { 'content-type': o.metrics.registry.contentType });
    res.end(body);
  }

  function serveProbe(req: IncomingMessage, res: ServerResponse, path: string): void {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      sendJson(res, 405, plain.methodNotAllowed, undefined, { allow: 'GET, HEAD' });
      return;
    }
    if (path === '/health') {
      sendJson(res, 200, JSON.stringify({ status: 'ok' }));
      return;
    }
    const served = path === '/ready' ? serveReady(res) : serveMetrics(res);
    served.catch(() => {
      if (!res.headersSent) sendJson(res, 500, plain.error);
      else res.destroy();
    });
  }

  /** The listener of METRICS_PORT's server: GET /metrics, 404 for anything else. */
  const metricsHandler: RequestListener = (req, res) => {
    const path = pathOf(req.url);
    if (path === '/metrics') serveProbe(req, res, path);
    else sendJson(res, 404, plain.notFound);
  };

  return { serveProbe, metricsHandler };
}
